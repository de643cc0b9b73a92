"""A load generator, run as a separate process: N concurrent clients replaying URLs; prints JSON timings."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx


async def _client(client: httpx.AsyncClient, urls: list[str], out: list[float], errors: list[int]) -> None:
    for url in urls:
        started = time.perf_counter()
        response = await client.get(url)
        out.append(time.perf_counter() - started)
        if response.status_code != 200:
            errors.append(response.status_code)


async def main(base: str, concurrency: int, rounds: int, paths: list[str]) -> None:
    latencies: list[float] = []
    errors: list[int] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        await client.get(paths[0])  # warm-up
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
