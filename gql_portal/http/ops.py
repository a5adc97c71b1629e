"""Operator endpoints: liveness, readiness (database and Redis answer) and metrics."""

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

import asyncpg  # type: ignore[import-untyped]
import redis.asyncio as redis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.backends.base.config_generator import expand_db_url

from gql_portal import metrics
from gql_portal.settings import Settings

PROBE_TIMEOUT_SECONDS = 2.0
# A migrated schema, not merely a listening server.
PROBE_QUERY = "SELECT 1 FROM users LIMIT 1"

Probe = Callable[[], Awaitable[None]]


def database_probe(database_url: str) -> Probe:
    connection = expand_db_url(database_url)
    credentials = connection["credentials"]

    if connection["engine"] == "tortoise.backends.sqlite":
        # mode=rw: a missing file is "not ready", never a new empty database.
        path = Path(credentials["file_path"]).absolute().as_posix()
        uri = f"file:/{quote(path.lstrip('/'))}?mode=rw"

        def query_sqlite() -> None:
            with sqlite3.connect(uri, uri=True, timeout=PROBE_TIMEOUT_SECONDS) as db:
                db.execute(PROBE_QUERY).fetchall()
            db.close()

        async def sqlite_probe() -> None:
            await asyncio.to_thread(query_sqlite)

        return sqlite_probe

    async def postgres_probe() -> None:
        conn = await asyncpg.connect(
            host=credentials.get("host"),
            port=credentials.get("port"),
            user=credentials.get("user"),
            password=credentials.get("password"),
            database=credentials.get("database"),
            timeout=PROBE_TIMEOUT_SECONDS,
        )
        try:
            await conn.fetch(PROBE_QUERY)
        finally:
            await conn.close()

    return postgres_probe


def redis_probe(redis_url: str) -> Probe:
    async def probe() -> None:
        client = redis.Redis.from_url(
            redis_url,
            socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
            socket_timeout=PROBE_TIMEOUT_SECONDS,
        )
        try:
            await client.ping()
        finally:
            await client.aclose()

    return probe


async def _check(probe: Probe) -> str:
    try:
        await asyncio.wait_for(probe(), PROBE_TIMEOUT_SECONDS * 2)
    except Exception as error:  # any failure means "not ready"
        return f"down: {type(error).__name__}"
    return "ok"


def ops_routes(settings: Settings) -> list[Route]:
    probes = {"database": database_probe(settings.resolved_database_url)}
    if settings.redis_url:
        probes["redis"] = redis_probe(settings.redis_url)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        names = list(probes)
        results = await asyncio.gather(*(_check(probes[name]) for name in names))
        checks = dict(zip(names, results, strict=True))
        ready = all(result == "ok" for result in results)
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    async def metrics_endpoint(request: Request) -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
