"""GraphQL documents and CSV builders shared by the import tests."""

from typing import Any

from starlette.applications import Starlette

from gql_portal.accounts.models import Domain, Role
from gql_portal.bulk.dispatch import InProcessDispatcher
from tests.bulk.api import sign_in
from tests.graphql import GraphQLClient

IMPORT_FIELDS = """
  id kind status dryRun total processed changed skipped failed created updated progress
  error errors { line email reason }
"""
IMPORT = f"""
mutation Import($csv: String!, $dryRun: Boolean, $enableTwoFactor: Boolean) {{
  importUsers(csv: $csv, dryRun: $dryRun, enableTwoFactor: $enableTwoFactor) {{ {IMPORT_FIELDS} }}
}}
"""
IMPORT_JOB = f"""
query ImportJob($id: ID!, $outcomes: [ImportRowOutcome!]) {{
  bulkJob(id: $id) {{
    {IMPORT_FIELDS}
    importRows(first: 1000, outcomes: $outcomes) {{ line email displayName roles outcome error }}
  }}
}}
"""
HEADER = "email,display_name,roles\n"


def csv_of(*rows: str) -> str:
    return HEADER + "".join(f"{row}\n" for row in rows)


def many_rows(domain: Domain, count: int, *, prefix: str = "imp") -> str:
    return HEADER + "".join(
        f"{prefix}-{number:06d}@{domain.name},Person {number},USER\n" for number in range(count)
    )


def in_process(app: Starlette) -> InProcessDispatcher:
    dispatcher = app.state.bulk_dispatcher
    assert isinstance(dispatcher, InProcessDispatcher), "tests run without GQL_PORTAL_REDIS_URL"
    return dispatcher


async def admin_token(client: GraphQLClient, domain: Domain) -> str:
    return await sign_in(client, domain, Role.SYSTEM_ADMIN)


async def run_import(
    client: GraphQLClient,
    app: Starlette,
    token: str,
    csv: str,
    *,
    outcomes: list[str] | None = None,
    **variables: Any,
) -> dict[str, Any]:
    """Start an import, let this process's runner finish it, read the job back."""
    started = (await client.execute(IMPORT, {"csv": csv, **variables}, token=token)).ok()
    await in_process(app).drain()
    job_id = started["importUsers"]["id"]
    done = await client.execute(IMPORT_JOB, {"id": job_id, "outcomes": outcomes}, token=token)
    job: dict[str, Any] = done.ok()["bulkJob"]
    return job
