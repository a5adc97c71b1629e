"""Operator endpoints: liveness, readiness (database and Redis answer) and metrics.

``/readyz`` names each dependency: ``database`` and ``redis`` are ``ok``, ``down`` or
``unset``; ``workers`` is the number of live workers (``unset`` without Redis, ``down``
when Redis cannot be asked). No live worker does not make the API unready: it still
answers everything but bulk jobs, which wait in the queue.
"""

import asyncio
import logging
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
from gql_portal.dependencies import fault_name
from gql_portal.settings import Settings
from gql_portal.worker_presence import count_alive

log = logging.getLogger("gql_portal.ops")

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


def redis_probe(redis_url: str) -> Callable[[], Awaitable[int]]:
    """Pings Redis and answers the number of live workers."""

    async def probe() -> int:
        client = redis.Redis.from_url(
            redis_url,
            socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
            socket_timeout=PROBE_TIMEOUT_SECONDS,
        )
        try:
            await client.ping()
            return await count_alive(client)
        finally:
            await client.aclose()

    return probe


_DOWN = object()


async def _check(name: str, probe: Callable[[], Awaitable[object]]) -> object:
    """The probe's answer, or _DOWN when the dependency does not answer (logged, not shown)."""
    try:
        return await asyncio.wait_for(probe(), PROBE_TIMEOUT_SECONDS * 2)
    except Exception as error:  # any failure means "not ready"
        log.warning("readiness: %s is down: %s", name, fault_name(error))
        return _DOWN


def ops_routes(
    settings: Settings, *, refresh: Callable[[], Awaitable[None]] | None = None
) -> list[Route]:
    """``refresh`` updates gauges read from the database (the outbox's backlog) before
    each scrape of ``/metrics``."""
    probe_database = database_probe(settings.resolved_database_url)
    probe_redis = redis_probe(settings.redis_url) if settings.redis_url else None

    async def workers_alive() -> int | None:
        if probe_redis is None:
            return None
        alive = await _check("redis", probe_redis)
        return alive if isinstance(alive, int) else None

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        database, workers = await asyncio.gather(
            _check("database", probe_database), workers_alive()
        )
        checks: dict[str, str | int] = {"database": "down" if database is _DOWN else "ok"}
        if probe_redis is None:
            checks.update(redis="unset", workers="unset")
        else:
            checks.update(
                redis="down" if workers is None else "ok",
                workers="down" if workers is None else workers,
            )
        ready = checks["database"] == "ok" and checks["redis"] != "down"
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    async def refresh_gauges() -> None:
        if refresh is None:
            return
        try:
            await asyncio.wait_for(refresh(), PROBE_TIMEOUT_SECONDS)
        except Exception as error:  # the database is down: the gauges keep their last value
            log.warning("metrics: gauges not refreshed: %s", fault_name(error))

    async def metrics_endpoint(request: Request) -> Response:
        if probe_redis is not None:
            metrics.WORKERS_ALIVE.set(await workers_alive() or 0)
        await refresh_gauges()
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
