"""Where a request's time goes, in process: the ASGI app called directly (no uvicorn, no
sockets), N requests one after another, microseconds per request for ours and the bare
route, and optionally cProfile's top entries for ours.

    python -m bench.profile me|users|verify [--db sqlite|postgres] [--requests N] [--profile]

``verify`` sends verifyTotp once per seeded pending session, with the current code.

A tool for the performance work, not one of the issue's measurements: the numbers leave
out the HTTP server and the network, which bench/me.py and friends include.
"""

import argparse
import asyncio
import cProfile
import json
import pstats
import time
from collections.abc import Awaitable, Callable
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


async def timed(
    app: Any, path: str, tokens: list[str], body: bytes | Callable[[], bytes], count: int
) -> float:
    """Microseconds per request; 50 warm-up requests first (tokens are used in order)."""
    make = body if callable(body) else lambda: body
    for token in tokens[:50]:
        await call(app, path, token, make())  # warm caches
    start = time.perf_counter()
    for n in range(count):
        await call(app, path, tokens[(50 + n) % len(tokens)], make())
    return (time.perf_counter() - start) / count * 1e6


async def profiled(work: Awaitable[Any]) -> None:
    """Run ``work`` under cProfile; print the top entries by own and by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    await work
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats("tottime")
    stats.print_stats(30)
    stats.sort_stats("cumulative").print_stats(70)


def seed_verify(count: int) -> Callable[[], Awaitable[tuple[list[str], list[str]]]]:
    from bench.verify_totp import seeder

    return seeder(count)


def run(db: harness.BenchDatabase, what: str, count: int, profile: bool) -> None:
    from tortoise import Tortoise

    from bench.bare import create_bare_app
    from gql_portal.app import create_app, freeze_startup_objects
    from gql_portal.db import close_db, tortoise_config

    if what == "verify":
        return run_verify(db, count, profile)
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
            freeze_startup_objects()  # as the served app's lifespan does
            bare = create_bare_app().router
            first = json.loads(await call(ours, "/graphql", tokens[0], body))
            assert "errors" not in first, first
            base = await timed(bare, bare_path, tokens, body, count)
            mine = await timed(ours, "/graphql", tokens, body, count)
            print(f"{db.kind}: bare {base:8.1f} us   ours {mine:8.1f} us   {base / mine:.2f}x")
            if profile:
                await profiled(timed(ours, "/graphql", tokens, body, count))
        finally:
            await close_db()

    asyncio.run(main())


def run_verify(db: harness.BenchDatabase, count: int, profile: bool) -> None:
    """verifyTotp (a fresh pending session each) against me on the same app."""
    import pyotp
    from tortoise import Tortoise

    from bench.seed import TOTP_SECRET
    from bench.verify_totp import VERIFY
    from gql_portal.app import create_app, freeze_startup_objects
    from gql_portal.db import close_db, tortoise_config

    rounds = 2 if profile else 1
    me_tokens, pending = harness.run_with_orm(db, seed_verify((count + 50) * rounds))
    totp = pyotp.TOTP(TOTP_SECRET)

    def verify_body() -> bytes:
        return json.dumps({"query": VERIFY, "variables": {"code": totp.now()}}).encode()

    me_body = json.dumps({"query": ME_QUERY}).encode()

    async def main() -> None:
        await Tortoise.init(config=tortoise_config(db.url))
        try:
            app = create_app(manage_database=False)
            freeze_startup_objects()
            first = json.loads(await call(app, "/graphql", pending[-1], verify_body()))
            assert "errors" not in first, first
            me = await timed(app, "/graphql", me_tokens, me_body, count)
            mine = await timed(app, "/graphql", pending[: count + 50], verify_body, count)
            print(f"{db.kind}: me {me:8.1f} us   verify {mine:8.1f} us   {me / mine:.2f}x")
            if profile:
                await profiled(timed(app, "/graphql", pending[count + 50 : -1], verify_body, count))
        finally:
            await close_db()

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["me", "users", "verify"])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with harness.bench_database(args.db, f"profile_{args.what}") as db:
        run(db, args.what, args.requests, args.profile)


if __name__ == "__main__":
    main()
