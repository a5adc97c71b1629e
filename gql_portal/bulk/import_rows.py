"""Reading an import's rows back: what each row did (dry run: would do), and the refused."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from gql_portal.accounts.models import Role, decode_roles
from gql_portal.bulk.models import ImportRow, ImportRowOutcome
from gql_portal.errors import BadUserInputError
from gql_portal.sql import fetch, is_postgres

MAX_FIRST = 1_000


@dataclass(frozen=True, slots=True)
class ImportRowView:
    line: int
    email: str
    display_name: str
    roles: list[Role]
    outcome: ImportRowOutcome | None
    error: str | None


def require_first(first: int | None) -> int:
    if first is None:
        return 100
    if not 0 <= first <= MAX_FIRST:
        raise BadUserInputError(f"first must be between 0 and {MAX_FIRST}", field="first")
    return first


def _view(row: dict[str, Any]) -> ImportRowView:
    return ImportRowView(
        line=int(row["line"]),
        email=row["email"],
        display_name=row["display_name"],
        roles=decode_roles(row["roles"]),
        outcome=ImportRowOutcome(row["outcome"]) if row["outcome"] else None,
        error=row["error"],
    )


async def rows_of_jobs(
    job_ids: Sequence[UUID], *, first: int, outcomes: Sequence[ImportRowOutcome] | None
) -> list[list[ImportRowView]]:
    """The first ``first`` rows of each job in line order, one statement for every job of
    a page (a window function numbers each job's rows)."""
    if not job_ids or first == 0:
        return [[] for _ in job_ids]
    connection = ImportRow._meta.db
    values: list[Any]
    if is_postgres(connection):
        jobs, values = "job_id = ANY(?::uuid[])", [list(job_ids)]
    else:
        jobs = f"job_id IN ({','.join('?' * len(job_ids))})"
        values = [str(job_id) for job_id in job_ids]
    chosen = ""
    if outcomes is not None:
        chosen = f" AND outcome IN ({','.join('?' * len(outcomes))})" if outcomes else " AND 0=1"
        values += [outcome.value for outcome in outcomes]
    rows = await fetch(
        connection,
        "SELECT job_id, line, email, display_name, roles, outcome, error FROM ("
        "SELECT job_id, line, email, display_name, roles, outcome, error, "
        "ROW_NUMBER() OVER (PARTITION BY job_id ORDER BY line) AS n "
        f"FROM import_rows WHERE {jobs}{chosen}) numbered WHERE n <= ? ORDER BY job_id, line",
        [*values, first],
    )
    by_job: dict[str, list[ImportRowView]] = {str(job_id): [] for job_id in job_ids}
    for row in rows:
        by_job[str(row["job_id"])].append(_view(row))
    return [by_job[str(job_id)] for job_id in job_ids]
