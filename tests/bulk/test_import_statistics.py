"""PostgreSQL plans an import's statements from statistics that the import itself makes
stale: the lookup of a chunk's users must probe an index per email whatever the statistics
say, and the runner analyzes the users table as the job doubles it (bulk/statistics.py)."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from gql_portal.bulk import import_chunk
from gql_portal.bulk.runner import run_bulk_job
from gql_portal.sql import fetch
from tests.bulk.imports import many_rows
from tests.bulk.test_import_runner import queued_import
from tests.database import TestDatabase
from tests.factories import make_domain


@pytest.fixture
def postgres(database: TestDatabase) -> TestDatabase:
    if not database.is_postgres:
        pytest.skip("PostgreSQL's planner (SQLite plans from its indexes alone)")
    return database


async def _analyzed(table: str) -> int:
    connection = connections.get("default")
    rows = await fetch(
        connection,
        "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = ?",
        [table],
    )
    return int(rows[0]["analyze_count"])


async def test_the_chunks_user_lookup_probes_the_email_index_with_stale_statistics(
    postgres: TestDatabase,
) -> None:
    domain = await make_domain()
    job = await queued_import(domain, many_rows(domain, 3000))
    await run_bulk_job(job.id, chunk_size=3000)  # 3,000 users the statistics may not know
    emails = [f"imp-{number:06d}@{domain.name}" for number in range(0, 3000, 3)]
    async with in_transaction() as connection:
        # What a prepared statement runs after its fifth execution: the plan for any values.
        await connection.execute_script("SET LOCAL plan_cache_mode = force_generic_plan")
        plan = await fetch(
            connection,
            "EXPLAIN (ANALYZE, FORMAT JSON) "
            + import_chunk._EXISTING_SQL["postgres"].format(lock=" FOR UPDATE"),
            [emails, domain.id],
        )
    (root,) = (
        json.loads(plan[0]["QUERY PLAN"])
        if isinstance(plan[0]["QUERY PLAN"], str)
        else (plan[0]["QUERY PLAN"])
    )
    assert root["Plan"]["Actual Rows"] == 1000
    nodes = list(_nodes(root["Plan"]))
    # One probe of the email's index per email: no row of the domain read and thrown away.
    assert any("e.email" in node.get("Index Cond", "") for node in nodes), nodes
    assert all(node.get("Rows Removed by Filter", 0) == 0 for node in nodes), nodes


def _nodes(node: dict[str, object]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):  # type: ignore[attr-defined]
        yield from _nodes(child)


async def test_the_runner_analyzes_users_as_an_import_doubles_them(
    postgres: TestDatabase,
) -> None:
    domain = await make_domain()
    job = await queued_import(domain, many_rows(domain, 2500))
    before = await _analyzed("users")
    await run_bulk_job(job.id, chunk_size=500)
    # Created 500, 1,000 (ANALYZE), 1,500, 2,000 (ANALYZE: twice the last), 2,500.
    assert await _analyzed("users") - before == 2
