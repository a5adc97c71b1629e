"""Every API statement has a deadline (db.api_tortoise_config): PostgreSQL's
statement_timeout, SQLite's progress-handler deadline and busy timeout. Past it a request
answers SERVICE_UNAVAILABLE instead of hanging, and the connection serves the next one."""

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

import asyncpg
import pytest
from tortoise import Tortoise, connections
from tortoise.exceptions import OperationalError

from gql_portal.accounts.models import Domain, PasswordSecurityRules, Role
from gql_portal.audit.models import AuditEvent
from gql_portal.db import api_tortoise_config, close_db, tortoise_config
from gql_portal.dependencies import is_unavailable
from gql_portal.settings import get_settings
from tests.audit.helpers import signed_in
from tests.database import TestDatabase
from tests.factories import make_domain
from tests.graphql import GraphQLClient
from tests.http.support import settings_with

TIMEOUT = 0.5
SWITCH_ON = "mutation { setDomainTwoFactor(enabled: true) { twoFactorEnabled } }"
ME = "query { me { email } }"
# Seconds of work for either database (ten million rows: 3 s on a fast machine, 30 s on a
# loaded one), bounded so that without a deadline the test fails instead of hanging.
SLOW = {
    "postgres": "SELECT pg_sleep(5)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
    " WHERE x < 10000000) SELECT count(*) FROM c",
}


@pytest.fixture
async def api_database(database: TestDatabase) -> AsyncIterator[TestDatabase]:
    """The test database opened as the API process opens it, with a short deadline."""
    await close_db()
    config = api_tortoise_config(settings_with(statement_timeout_seconds=TIMEOUT))
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        yield database
    finally:
        await close_db()
        await Tortoise.init(config=tortoise_config(database.url), _enable_global_fallback=True)


@contextlib.asynccontextmanager
async def rules_locked(database: TestDatabase, domain: Domain) -> AsyncIterator[None]:
    """Another process holds a lock the switch's UPDATE must wait for."""
    if database.is_postgres:
        parsed = urlparse(database.url)
        other = await asyncpg.connect(
            host=parsed.hostname,
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            database=database.name,
        )
        try:
            async with other.transaction():
                await other.execute(
                    "SELECT id FROM password_security_rules WHERE domain_id = $1 FOR UPDATE",
                    domain.id,
                )
                yield
        finally:
            await other.close()
    else:
        writer = sqlite3.connect(connections.get("default").filename, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            yield
            writer.execute("ROLLBACK")
        finally:
            writer.close()


async def test_a_statement_waiting_for_a_lock_answers_service_unavailable(
    api_database: TestDatabase, client: GraphQLClient
) -> None:
    domain = await make_domain()
    _, token = await signed_in(client, domain, Role.SECURITY_ADMIN)
    events = await AuditEvent.all().count()
    async with rules_locked(api_database, domain):
        # Without a deadline it waits for the lock: 10 s on SQLite, forever on PostgreSQL.
        refused = await asyncio.wait_for(client.execute(SWITCH_ON, token=token), TIMEOUT + 4)
        assert refused.code == "SERVICE_UNAVAILABLE", refused.body
        assert refused.errors[0]["extensions"]["requestId"]
    # Nothing half-written, and the same connections serve the retry.
    rules = await PasswordSecurityRules.get(domain_id=domain.id)
    assert rules.two_factor_enabled is False
    assert await AuditEvent.all().count() == events
    done = await client.execute(SWITCH_ON, token=token)
    assert done.ok()["setDomainTwoFactor"]["twoFactorEnabled"] is True
    assert (await client.execute(ME, token=token)).ok()["me"] is not None


async def test_a_runaway_statement_is_cancelled_and_the_connection_goes_on(
    api_database: TestDatabase,
) -> None:
    connection = connections.get("default")
    dialect = "postgres" if api_database.is_postgres else "sqlite"
    started = time.perf_counter()
    # Tortoise passes asyncpg's QueryCanceledError through; SQLite's comes wrapped.
    with pytest.raises((OperationalError, asyncpg.exceptions.QueryCanceledError)) as raised:
        await connection.execute_query(SLOW[dialect])
    assert time.perf_counter() - started < TIMEOUT + 4
    assert is_unavailable(raised.value)  # answered as SERVICE_UNAVAILABLE
    for _ in range(3):
        assert (await connection.execute_query_dict("SELECT 1 AS one"))[0]["one"] == 1


async def test_a_statement_within_the_deadline_is_left_alone(
    api_database: TestDatabase,
) -> None:
    # The check itself must not cancel what finishes in time, even a long series of them.
    connection = connections.get("default")
    sleep = "SELECT pg_sleep(0.1)" if api_database.is_postgres else None
    for _ in range(5):
        if sleep:
            await connection.execute_query(sleep)
        else:
            await connection.execute_query(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)"
                " SELECT count(*) FROM c"
            )
        await asyncio.sleep(TIMEOUT / 2)  # deadlines are per statement, not per connection


def test_only_the_api_gets_a_deadline() -> None:
    settings = settings_with(statement_timeout_seconds=2.5)
    postgres = settings.model_copy(update={"database_url": "postgres://u@127.0.0.1:5432/x"})
    sqlite = settings.model_copy(update={"database_url": "sqlite:///tmp/x.sqlite3"})
    api_pg: dict[str, Any] = api_tortoise_config(postgres)["connections"]["default"]
    assert api_pg["credentials"]["server_settings"]["statement_timeout"] == "2500"
    api_lite: dict[str, Any] = api_tortoise_config(sqlite)["connections"]["default"]
    assert api_lite["credentials"]["statement_timeout"] == 2.5
    assert api_lite["credentials"]["busy_timeout"] == 2500
    # Migrations, the CLI and the bulk worker (db.migrate, db.init_db) keep none.
    for url in (postgres.resolved_database_url, sqlite.resolved_database_url):
        credentials = tortoise_config(url)["connections"]["default"]["credentials"]
        assert "statement_timeout" not in credentials
        assert "statement_timeout" not in credentials.get("server_settings", {})
    assert get_settings().statement_timeout_seconds == 5.0
