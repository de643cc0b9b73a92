"""Metrics under `kb serve --workers 2` (issue 13): requests served by both workers add up in one /metrics,
whichever worker answers the scrape, and the shared metrics folder starts empty at each start."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from kbserver.repository import ContentRepository
from tests.kbserve import get, kb_serve

TOKEN = "scrape-workers-5c1d"
BATCH = 8  # requests at once, each on its own connection, so that both workers accept some
MAX_BATCHES = 40


def _livez_total(base: str) -> float:
    status, body, _ = get(f"{base}/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    return sum(
        sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "kb_http_requests_total" and sample.labels.get("route") == "/livez"
    )


def _workers_that_served_livez(log: Path) -> set[str]:
    return set(re.findall(r"\[(\d+)\] uvicorn\.access: [^\n]*\"GET /livez HTTP/1\.1\" 200", log.read_text()))


def test_requests_spread_over_two_workers_sum_to_the_total_sent(
    content_repo: ContentRepository, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    stale = data / "metrics" / "counter_999999.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by an earlier run")
    log = tmp_path / "serve.log"
    settings = {"KB_LOG_LEVEL": "info", "KB_METRICS_TOKEN": TOKEN}
    with kb_serve(content_repo.path, data, log, 2, settings) as base, ThreadPoolExecutor(BATCH) as pool:
        assert not stale.exists()  # emptied at start: an earlier run's counts are not added to this one's
        assert _livez_total(base) == 0
        sent = 0
        for _ in range(MAX_BATCHES):
            statuses = list(pool.map(lambda _: get(f"{base}/livez")[0], range(BATCH)))
            assert statuses == [200] * BATCH
            sent += BATCH
            if sent >= 40 and len(_workers_that_served_livez(log)) == 2:
                break
        time.sleep(0.5)  # the access lines are written by the workers as they answer
        served_by = _workers_that_served_livez(log)
        assert len(served_by) == 2, f"one worker served all {sent} requests: {served_by}"
        for _ in range(3):  # each scrape may be answered by either worker: the sum is the same
            assert _livez_total(base) == sent
