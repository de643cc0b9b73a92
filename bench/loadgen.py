"""A load generator, run as a separate process: N concurrent clients replaying requests; prints JSON timings.

Standard input is a JSON list of paths (GET), or of [method, path, json_body] triples.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import httpx

Request = str | list[Any]  # a path to GET, or [method, path, json_body]


async def _client(
    client: httpx.AsyncClient, requests: list[Request], out: list[float], errors: list[int]
) -> None:
    for request in requests:
        method, path, body = ("GET", request, None) if isinstance(request, str) else request
        started = time.perf_counter()
        response = await client.request(method, path, json=body)
        out.append(time.perf_counter() - started)
        if response.status_code >= 300:
            errors.append(response.status_code)


async def main(base: str, concurrency: int, rounds: int, paths: list[Request]) -> None:
    latencies: list[float] = []
    errors: list[int] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"authorization": f"Bearer {token}"} if (token := os.environ.get("KB_BENCH_TOKEN")) else {}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30, headers=headers) as client:
        await client.get("/api/health")  # warm-up
        started = time.perf_counter()
        jobs = [
            _client(client, [paths[(i * 7 + r) % len(paths)] for r in range(rounds)], latencies, errors)
            for i in range(concurrency)
        ]
        await asyncio.gather(*jobs)
        elapsed = time.perf_counter() - started
    print(json.dumps({"latencies": latencies, "errors": len(errors), "elapsed": elapsed}))


if __name__ == "__main__":
    base, concurrency, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    asyncio.run(main(base, concurrency, rounds, json.loads(sys.stdin.read())))
