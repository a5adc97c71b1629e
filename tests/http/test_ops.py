"""Liveness, readiness, metrics and the worker's health check."""

import os
import subprocess
import sys

import pytest
from prometheus_client import REGISTRY

from tests.conftest import TEST_REDIS_URL
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.http.support import VERIFY, client_with, enrolled_user_with_pending_token

CLOSED_PORT = 1  # nothing listens on tcpmux


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_healthz(client: GraphQLClient) -> None:
    response = await client.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers(client: GraphQLClient) -> None:
    response = await client.http.get("/readyz")
    assert response.status_code == 200
    checks = {"database": "ok", "redis": "unset", "workers": "unset"}
    assert response.json() == {"status": "ok", "checks": checks}


async def test_not_ready_when_postgres_is_down() -> None:
    url = f"postgres://postgres@127.0.0.1:{CLOSED_PORT}/gql_portal"
    async with client_with(database_url=url) as client:
        response = await client.http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"] == "down"


async def test_not_ready_when_the_sqlite_file_is_missing(tmp_path: object) -> None:
    async with client_with(database_url=f"sqlite:///{tmp_path}/missing.sqlite3") as client:
        response = await client.http.get("/readyz")
    assert response.status_code == 503


async def test_not_ready_when_redis_is_down(client: GraphQLClient) -> None:
    async with client_with(redis_url=f"redis://127.0.0.1:{CLOSED_PORT}/13") as down:
        response = await down.http.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks == {"database": "ok", "redis": "down", "workers": "down"}


@pytest.mark.skipif(TEST_REDIS_URL is None, reason="GQL_PORTAL_TEST_REDIS_URL is not set")
async def test_ready_with_redis_up() -> None:
    async with client_with(redis_url=TEST_REDIS_URL) as client:
        response = await client.http.get("/readyz")
    assert response.status_code == 200
    # However many workers are alive (none, usually), the API is ready.
    checks = response.json()["checks"]
    assert checks["database"] == checks["redis"] == "ok" and isinstance(checks["workers"], int)


async def test_metrics_count_a_login(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    before_ok = sample("gql_portal_logins_total", outcome="AUTHENTICATED")
    before_bad = sample("gql_portal_logins_total", outcome="INVALID_CREDENTIALS")
    before_field = sample("gql_portal_graphql_operations_total", operation="login", outcome="OK")
    await client.login(user.email, PASSWORD)
    await client.execute(
        f'mutation {{ login(email: "{user.email}", password: "wrong-password") {{ status }} }}'
    )
    refused = (
        'mutation { a: login(email: "x", password: "y") { status } '
        'b: login(email: "x", password: "z") { status } }'
    )
    await client.execute(refused)
    assert sample("gql_portal_logins_total", outcome="AUTHENTICATED") == before_ok + 1
    assert sample("gql_portal_logins_total", outcome="INVALID_CREDENTIALS") == before_bad + 1
    assert (
        sample("gql_portal_graphql_operations_total", operation="login", outcome="OK")
        == before_field + 1
    )
    response = await client.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'gql_portal_logins_total{outcome="AUTHENTICATED"}' in text
    refused_line = 'operations_total{operation="(refused)",outcome="BAD_USER_INPUT"}'
    latency_line = 'request_duration_seconds_bucket{le="0.005",method="POST",route="/graphql"}'
    assert "gql_portal_graphql_" + refused_line in text
    assert "gql_portal_http_" + latency_line in text
    assert "gql_portal_graphql_duration_seconds_count" in text


def test_bulk_job_progress_gauge() -> None:
    from gql_portal import metrics

    metrics.set_bulk_job_progress(42, processed=25, total=100)
    assert sample("gql_portal_bulk_job_progress_ratio", job_id="42") == 0.25
    metrics.clear_bulk_job(42)
    metrics.clear_bulk_job(42)
    assert REGISTRY.get_sample_value("gql_portal_bulk_job_progress_ratio", {"job_id": "42"}) is None


@pytest.mark.skipif(TEST_REDIS_URL is None, reason="GQL_PORTAL_TEST_REDIS_URL is not set")
def test_worker_check_fails_with_no_worker_running() -> None:
    # No worker runs against the test Redis, so no health record is there.
    env = {**os.environ, "GQL_PORTAL_REDIS_URL": TEST_REDIS_URL or ""}
    command = [sys.executable, "-m", "gql_portal.cli", "worker", "--check"]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert completed.returncode != 0, completed.stdout + completed.stderr


async def test_metrics_count_verifications_and_a_lockout(client: GraphQLClient) -> None:
    _, _, token = await enrolled_user_with_pending_token(client)
    wrong = sample("gql_portal_second_factor_total", operation="verifyTotp", outcome="INVALID_CODE")
    lockouts = sample("gql_portal_lockouts_total", kind="totp")
    for _ in range(5):
        result = await client.execute(VERIFY, {"code": "000000"}, token=token)
        assert result.code == "INVALID_CODE"
    assert sample("gql_portal_lockouts_total", kind="totp") == lockouts + 1
    assert (
        sample("gql_portal_second_factor_total", operation="verifyTotp", outcome="INVALID_CODE")
        == wrong + 5
    )


def test_access_log_lines_never_carry_the_query_string() -> None:
    import logging

    from gql_portal.logs import QueryStringFilter

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', None, None
    )
    record.args = (
        "127.0.0.1:5000",
        "GET",
        '/graphql?query=mutation{login(email:"a",password:"hunter2hunter2"){token}}',
        "1.1",
        405,
    )
    assert QueryStringFilter().filter(record)
    message = record.getMessage()
    assert "hunter2" not in message and "/graphql?[redacted]" in message


@pytest.mark.skipif(TEST_REDIS_URL is None, reason="GQL_PORTAL_TEST_REDIS_URL is not set")
async def test_workers_alive_are_counted_from_their_heartbeat_keys() -> None:
    from redis.asyncio import Redis

    from gql_portal import worker_presence

    redis = Redis.from_url(TEST_REDIS_URL or "")
    await redis.flushdb()
    try:
        await worker_presence.beat(redis, "host:1:a", "pid=1")
        await worker_presence.beat(redis, "host:2:b", "pid=2")
        async with client_with(redis_url=TEST_REDIS_URL) as client:
            ready = await client.http.get("/readyz")
            metrics = (await client.http.get("/metrics")).text
            await worker_presence.forget(redis, "host:1:a")
            fewer = (await client.http.get("/readyz")).json()["checks"]["workers"]
        assert ready.status_code == 200 and ready.json()["checks"]["workers"] == 2
        assert "gql_portal_workers_alive 2.0" in metrics
        assert fewer == 1
        assert 0 < await redis.ttl(worker_presence.worker_key("host:2:b")) <= 15
    finally:
        await redis.flushdb()
        await redis.aclose()
