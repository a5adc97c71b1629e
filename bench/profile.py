"""Where a request's time goes, in process: the ASGI app called directly (no uvicorn, no
sockets), N requests one after another, microseconds per request for ours and the bare
route, and optionally cProfile's top entries for ours.

    python -m bench.profile me|users [--db sqlite|postgres] [--requests N] [--profile]

A tool for the performance work, not one of the issue's measurements: the numbers leave
out the HTTP server and the network, which bench/me.py and friends include.
"""

import argparse
import asyncio
import cProfile
import json
import pstats
import time
from typing import Any

from bench import harness
from bench.me import QUERY as ME_QUERY
from bench.me import seed_me
from bench.users_page import QUERY as USERS_QUERY
from bench.users_page import seed_users


def scope(path: str, token: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app: Any, path: str, token: str, body: bytes) -> bytes:
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope(path, token), receive, send)
    return b"".join(chunks)


async def timed(app: Any, path: str, tokens: list[str], body: bytes, count: int) -> float:
    for token in tokens[:50]:
        await call(app, path, token, body)  # warm caches
    start = time.perf_counter()
    for n in range(count):
        await call(app, path, tokens[n % len(tokens)], body)
    return (time.perf_counter() - start) / count * 1e6


def run(db: harness.BenchDatabase, what: str, count: int, profile: bool) -> None:
    from tortoise import Tortoise

    from bench.bare import create_bare_app
    from gql_portal.app import create_app, tune_garbage_collector
    from gql_portal.db import close_db, tortoise_config

    seeded = harness.run_with_orm(db, seed_me if what == "me" else seed_users)
    tokens = seeded if what == "me" else [seeded]
    tokens = tokens if isinstance(tokens[0], str) else tokens[0]
    query, bare_path, variables = (
        (ME_QUERY, "/me", None) if what == "me" else (USERS_QUERY, "/users", {"first": 50})
    )
    body = json.dumps({"query": query} | ({"variables": variables} if variables else {})).encode()

    async def main() -> None:
        await Tortoise.init(config=tortoise_config(db.url))
        try:
            ours = create_app(manage_database=False)
            tune_garbage_collector()  # as the served app's lifespan does
            bare = create_bare_app().router
            first = json.loads(await call(ours, "/graphql", tokens[0], body))
            assert "errors" not in first, first
            base = await timed(bare, bare_path, tokens, body, count)
            mine = await timed(ours, "/graphql", tokens, body, count)
            print(f"{db.kind}: bare {base:8.1f} us   ours {mine:8.1f} us   {base / mine:.2f}x")
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await timed(ours, "/graphql", tokens, body, count)
                profiler.disable()
                stats = pstats.Stats(profiler).sort_stats("tottime")
                stats.print_stats(30)
                stats.sort_stats("cumulative").print_stats(60)
        finally:
            await close_db()

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["me", "users"])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with harness.bench_database(args.db, f"profile_{args.what}") as db:
        run(db, args.what, args.requests, args.profile)


if __name__ == "__main__":
    main()
