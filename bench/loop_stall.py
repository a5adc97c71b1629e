"""Issue 11.1: the longest event-loop stall one unauthenticated request causes.

    python -m bench.loop_stall [--runs N]

Runs the app in this process (production settings, a fresh SQLite database) and measures,
per request, the event loop thread's CPU time (``time.thread_time``: what the request cost
the loop, whatever else the machine runs; the in-process client's share is under 1 ms)
and, with a probe task that wakes every half millisecond, the longest gap between its
wake-ups (the longest stall; on a loaded machine this includes time the OS gave to other
processes). Each shape below stays within the documented limits (body 100 kB, 2,000
tokens, depth, aliases, repeats, directives) and is sent ``--runs`` times, each time a
different text (a numbered comment) so no cache helps. Prints the medians per shape, then
the worst. Goal: under ~50 ms of loop time.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import orjson

Shape = Callable[[int], tuple[str, str, bytes]]  # run number -> method, query string, body

LONG_COMMENT = "#" + "x" * 90_000


def post(query: str, **fields: Any) -> Shape:
    return lambda run: ("POST", "", orjson.dumps({"query": f"{query}\n#{run}", **fields}))


def get(query: str) -> Shape:
    from urllib.parse import urlencode

    return lambda run: ("GET", urlencode({"query": f"{query}\n#{run}"}), b"")


def fragments(count: int, body: str) -> str:
    spreads = " ".join(f"...F{i}" for i in range(count))
    defined = " ".join(f"fragment F{i} on User {{ {body} }}" for i in range(count))
    return f"{{ me {{ {spreads} }} }} {defined}"


SHAPES: dict[str, Shape] = {
    "#subscription comment + 48,000 tokens": post("#subscription\n{" + "a " * 48_000 + "}"),
    "90 kB comment": post("{ me { id } }" + LONG_COMMENT),
    "90 kB of whitespace": post(" " * 90_000 + "{ me { id } }"),
    "90 kB string literal": post('{ user(id: "' + "1" * 90_000 + '") { id } }'),
    "30 errors + 90 kB comment": post(
        "{ " + " ".join(f'a{i}: user(id: "1") {{ id }}' for i in range(30)) + " }" + LONG_COMMENT
    ),
    "same field 490 times": post("{" + " me { id }" * 490 + " }"),
    "inline fragments x 220": post("{ me { " + "... on User { domain { id } } " * 220 + "} }"),
    "fragments x 150, same field": post(fragments(150, "domain { id }")),
    "unknown fields x 990": post("{ " + " ".join(f"f{i}" for i in range(990)) + " }"),
    "450 unused variables": post(
        "query(" + " ".join(f"$v{i}: Int" for i in range(450)) + ") { me { id } }"
    ),
    "operation 300 of 300": post(
        " ".join(f"query Q{i} {{ me {{ id }} }}" for i in range(300)), operationName="Q299"
    ),
    "6,000-item list variable": post(
        "query($a: [AuditAction!]) { auditEvents(filter: {actions: $a}) { edges { cursor } } }",
        variables={"a": ["LOGIN_FAILED"] * 6_000},
    ),
    "90 kB string variable": post(
        "mutation($e: String!) { login(email: $e, password: $e) { status } }",
        variables={"e": "x" * 90_000},
    ),
    "deeply nested JSON": lambda run: (
        "POST",
        "",
        b'{"query": "{ me { id } }", "v": ' + b"[" * 40_000 + b"]" * 40_000 + b"}",
    ),
    "GET, #subscription + 5,000 tokens": get("#subscription\n{" + "a " * 5_000 + "}"),
}


async def probe(longest: list[float]) -> None:
    while True:
        started = time.perf_counter()
        await asyncio.sleep(0.0005)
        longest[0] = max(longest[0], time.perf_counter() - started - 0.0005)


async def measure(runs: int) -> list[tuple[str, float, float, float, int]]:
    import httpx

    from gql_portal.app import create_app
    from gql_portal.db import close_db, init_db, migrate
    from gql_portal.settings import get_settings

    settings = get_settings()
    await migrate(settings)
    await init_db(settings)
    app = create_app(manage_database=False)
    longest = [0.0]
    prober = asyncio.create_task(probe(longest))
    rows = []
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            await http.post("/graphql", json={"query": "{ me { id } }"})
            for name, shape in SHAPES.items():
                stalls, walls, loop_times = [], [], []
                for run in range(runs):
                    method, params, body = shape(run)
                    await asyncio.sleep(0.02)
                    longest[0] = 0.0
                    started = time.perf_counter()
                    loop_started = time.thread_time()
                    response = await http.request(
                        method,
                        "/graphql" + (f"?{params}" if params else ""),
                        content=body or None,
                        headers={"content-type": "application/json"} if body else {},
                    )
                    loop_times.append(time.thread_time() - loop_started)
                    walls.append(time.perf_counter() - started)
                    await asyncio.sleep(0.002)
                    stalls.append(longest[0])
                rows.append(
                    (
                        name,
                        statistics.median(loop_times),
                        statistics.median(stalls),
                        statistics.median(walls),
                        response.status_code,
                    )
                )
    finally:
        prober.cancel()
        await close_db()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    from cryptography.fernet import Fernet

    os.environ["GQL_PORTAL_DATA_DIR"] = tempfile.mkdtemp(prefix="gql_portal_bench_")
    os.environ["GQL_PORTAL_ENVIRONMENT"] = "production"
    os.environ["GQL_PORTAL_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    os.environ["GQL_PORTAL_LOG_LEVEL"] = "WARNING"
    os.environ.pop("GQL_PORTAL_DATABASE_URL", None)
    rows = asyncio.run(measure(args.runs))
    print(f"{'shape':40} {'status':>6} {'loop ms':>8} {'stall ms':>9} {'request ms':>11}")
    for name, loop_time, stall, wall, status in rows:
        print(
            f"{name:40} {status:>6} {loop_time * 1000:>8.1f} {stall * 1000:>9.1f}"
            f" {wall * 1000:>11.1f}"
        )
    worst = max(rows, key=lambda row: row[1])
    print(f"worst request: {worst[1] * 1000:.1f} ms of loop time ({worst[0]})")


if __name__ == "__main__":
    main()
