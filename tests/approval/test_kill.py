"""SIGKILL during merges: after a restart, git, the state store, the index and the audit log agree."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
import time

from approval.model import State
from kbserver.services import Services
from kbserver.settings import PROJECT_ROOT

FILES = [
    "docs/kb/red-vpn/vpn-lenta.md",
    "docs/kb/correo/buzon-lleno.md",
    "docs/kb/mfa/llave-fido2.md",
    "docs/kb/dispositivos/monitor-externo.md",
    "docs/kb/software/teams-audio.md",
    "docs/kb/cuentas/primer-acceso.md",
    "docs/kb/red-vpn/wifi-corporativa.md",
    "docs/kb/correo/compartir-calendario.md",
]


def _restart_and_check(services: Services) -> set[int]:
    """What a restart does (reconcile, index catch-up), then every part must tell the same story."""
    services.workflow.reconcile()
    services.catch_up_index()
    on_main = set()
    for _sha, parents, body in services.repository.first_parent_history("main"):
        found = re.search(r"^Change-Request: CR-(\d+)$", body, re.M)
        if found and len(parents) == 2:
            on_main.add(int(found.group(1)))
    in_store = {c.number for c in services.workflow.records.find(State.MERGED.value)}
    assert in_store == on_main
    assert services.search.commit() == services.main_commit()
    for number in on_main:
        assert services.workflow.records.events(number)[-1]["action"] in ("merge", "reconcile")
    with open(services.settings.data_dir / "merge.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # no lock is left behind
    return on_main


def test_killed_merges_leave_a_consistent_state(services: Services) -> None:
    for name in ("lead1", "lead2"):
        services.users.add(name, "lead", "kill-test-password")
    lead1, lead2 = services.users.get("lead1"), services.users.get("lead2")
    flow = services.workflow
    for path in FILES:
        change = flow.create(lead1, f"Editar {path.rsplit('/', 1)[-1]}")
        text = services.repository.read(change.head_commit, path) or b""
        flow.write(lead1, change.number, {path: text + b"\nCambio.\n"}, change.head_commit, "edit")
        flow.submit(lead1, change.number)
        flow.approve(lead2, change.number)
    services.catch_up_index()
    settings = services.settings
    env = {
        **os.environ,
        "KB_REPO": str(settings.repo),
        "KB_DATA_DIR": str(settings.data_dir),
        "KB_DATABASE_URL": settings.resolved_database_url,
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    merged: set[int] = set()
    for delay in (0.0, 0.05, 0.12, 0.2, 0.3, 0.45, 0.7, 1.0, None):
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.approval.merge_worker"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
        if delay is None:
            _out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
        else:
            time.sleep(delay)
            worker.send_signal(signal.SIGKILL)
            worker.communicate(timeout=30)  # reaps the process and closes its pipes
        now = _restart_and_check(services)
        assert merged <= now
        merged = now
    assert len(merged) == len(FILES)
