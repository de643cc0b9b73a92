"""A load generator, run as a separate process: N concurrent clients replaying requests; prints JSON timings.

Standard input is a JSON list of paths (GET), or of [method, path, json_body] triples.

Each client is one keep-alive HTTP/1.1 connection on asyncio streams, with every request encoded before the
clock starts. A general-purpose client (httpx) spent about as much CPU per request as the server did, and
on a 2-core machine that time was taken from the server and counted as its latency.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import urllib.parse
from typing import Any

Request = str | list[Any]  # a path to GET, or [method, path, json_body]


def encode(request: Request, host: str, token: str | None) -> bytes:
    """One request as the bytes sent on the wire."""
    method, path, body = ("GET", request, None) if isinstance(request, str) else request
    payload = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}", "accept: application/json"]
    if token:
        lines.append(f"authorization: Bearer {token}")
    if body is not None:
        lines += ["content-type: application/json", f"content-length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one request and read its whole response; returns the status code."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _client(host: str, port: int, requests: list[bytes], out: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            started = time.perf_counter()
            status = await _exchange(reader, writer, request)
            out.append(time.perf_counter() - started)
            if status >= 300:
                errors.append(status)
    finally:
        writer.close()


async def main(base: str, concurrency: int, rounds: int, paths: list[Request]) -> None:
    url = urllib.parse.urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    token = os.environ.get("KB_BENCH_TOKEN")
    encoded = [encode(p, url.netloc, token) for p in paths]
    latencies: list[float] = []
    errors: list[int] = []
    await _client(host, port, [encode("/api/health", url.netloc, token)], [], errors)  # warm-up
    started = time.perf_counter()
    jobs = [
        _client(
            host, port, [encoded[(i * rounds + r) % len(encoded)] for r in range(rounds)], latencies, errors
        )
        for i in range(concurrency)
    ]
    await asyncio.gather(*jobs)
    elapsed = time.perf_counter() - started
    print(json.dumps({"latencies": latencies, "errors": len(errors), "elapsed": elapsed}))


if __name__ == "__main__":
    base, concurrency, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    asyncio.run(main(base, concurrency, rounds, json.loads(sys.stdin.read())))
