"""A small closed-loop HTTP/1.1 load generator: keep-alive connections over asyncio streams.

Run in its own process (pinned to its own core) so the server under test gets a core to
itself. Reads a JSON spec, prints JSON results. Raw streams instead of an HTTP client
library: the client must cost far less per request than the servers it measures.
"""

import argparse
import asyncio
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

try:
    import uvloop
except ImportError:  # pragma: no cover - uvicorn[standard] brings it
    uvloop = None


# Same length as a code, so the encoded content-length stays right.
CODE_MARK = b"@CODE@"


@dataclass
class Stream:
    name: str
    connections: int
    requests: list[bytes]
    once: bool
    totp_secret: str | None
    rate: float | None = None
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    issued: int = 0
    started: float = 0.0
    finished: float = 0.0


def encode_request(host: str, port: int, request: dict[str, Any]) -> bytes:
    body = request.get("body", "").encode()
    lines = [
        f"{request.get('method', 'POST')} {request['path']} HTTP/1.1",
        f"host: {host}:{port}",
        f"content-length: {len(body)}",
    ]
    lines += [f"{name}: {value}" for name, value in request.get("headers", {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if length is not None:
        return status, await reader.readexactly(length)
    if not chunked:
        return status, b""
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, bytes(body)
        body += chunk[:-2]


class Clock:
    def __init__(self, warmup: float, duration: float) -> None:
        self.start = time.perf_counter()
        self.measure_from = self.start + warmup
        self.stop_at = self.measure_from + duration


async def connection(
    host: str, port: int, stream: Stream, clock: Clock, codes: "TotpCodes | None"
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    # A paced stream (``rate`` requests/s over all its connections) measures latency below
    # saturation; an unpaced one is closed-loop, as fast as the server answers.
    interval = stream.connections / stream.rate if stream.rate else 0.0
    next_send = time.perf_counter() + random.random() * interval
    try:
        while True:
            now = time.perf_counter()
            if now >= clock.stop_at:
                return
            if interval:
                if next_send > now:
                    await asyncio.sleep(next_send - now)
                next_send = max(next_send + interval, time.perf_counter() - interval)
            index = stream.issued
            if stream.once and index >= len(stream.requests):
                return
            stream.issued += 1
            payload = stream.requests[index % len(stream.requests)]
            if codes is not None:
                payload = payload.replace(CODE_MARK, codes.current().encode())
            sent = time.perf_counter()
            writer.write(payload)
            status, body = await read_response(reader)
            done = time.perf_counter()
            if sent < clock.measure_from:
                continue
            if status != 200 or b'"errors"' in body:
                stream.errors += 1
                if stream.first_error is None:
                    stream.first_error = f"{status} {body[:300]!r}"
                continue
            if not stream.started:
                stream.started = sent
            stream.finished = max(stream.finished, done)
            stream.latencies.append(done - sent)
    finally:
        writer.close()


class TotpCodes:
    """The code for the current 30 s step, computed once per step."""

    def __init__(self, secret: str) -> None:
        import pyotp

        self.totp = pyotp.TOTP(secret)
        self.step = -1
        self.code = ""

    def current(self) -> str:
        step = int(time.time()) // 30
        if step != self.step:
            self.step, self.code = step, self.totp.at(step * 30)
        return self.code


def percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(stream: Stream, clock: Clock) -> dict[str, Any]:
    ordered = sorted(stream.latencies)
    # A "once" stream may run dry before the clock stops: divide by the time it ran.
    end = min(clock.stop_at, max(stream.finished, clock.measure_from))
    elapsed = max(end - clock.measure_from, 1e-9)
    return {
        "name": stream.name,
        "requests": len(ordered),
        "errors": stream.errors,
        "first_error": stream.first_error,
        "elapsed": elapsed,
        "rps": len(ordered) / elapsed,
        "p50_ms": percentile(ordered, 0.50) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "exhausted": stream.once and stream.issued >= len(stream.requests),
    }


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec["host"], spec["port"]
    streams = [
        Stream(
            name=item["name"],
            connections=item["connections"],
            requests=[encode_request(host, port, r) for r in item["requests"]],
            once=item.get("once", False),
            totp_secret=item.get("totp_secret"),
            rate=item.get("rate"),
        )
        for item in spec["streams"]
    ]
    clock = Clock(spec["warmup"], spec["duration"])
    tasks = []
    for stream in streams:
        codes = TotpCodes(stream.totp_secret) if stream.totp_secret else None
        tasks += [connection(host, port, stream, clock, codes) for _ in range(stream.connections)]
    await asyncio.gather(*tasks)
    return {"streams": [summary(stream, clock) for stream in streams]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("spec", help="path of the JSON spec")
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    with open(args.spec) as file:
        spec = json.load(file)
    if spec["host"] not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("loadgen: only local targets")
    runner = uvloop.run if uvloop is not None else asyncio.run
    result = runner(run(spec))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
