"""The runner walking IMPORT_USERS jobs: fixed statements per chunk, cancel, runners at once."""

import asyncio

import pytest

from gql_portal.accounts.models import Domain, Role, User
from gql_portal.audit.models import AuditEvent
from gql_portal.bulk.dispatch import InProcessDispatcher
from gql_portal.bulk.imports import start_import
from gql_portal.bulk.models import BulkJob, ImportRow
from gql_portal.bulk.runner import run_bulk_job
from gql_portal.bulk.services import cancel_job
from gql_portal.request_meta import SYSTEM
from tests.bulk.helpers import make_many_users
from tests.bulk.imports import HEADER, many_rows
from tests.factories import make_domain, make_user
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("database")


async def queued_import(domain: Domain, csv: str, **options: bool) -> BulkJob:
    """An import as the API leaves it, handed to a dispatcher that runs nothing yet."""
    dispatcher = InProcessDispatcher()
    job = await start_import(
        actor=None,
        domain_id=domain.id,
        csv_text=csv,
        dry_run=options.get("dry_run", False),
        enable_two_factor=options.get("enable_two_factor", False),
        meta=SYSTEM,
        dispatcher=dispatcher,
    )
    await dispatcher.close()  # the task never got to run: the job stays QUEUED
    return await BulkJob.get(id=job.id)


async def statements_of_two_chunks(csv: str, domain: Domain, chunk_size: int) -> int:
    job = await queued_import(domain, csv)
    with count_queries() as statements:
        await run_bulk_job(job.id, chunk_size=chunk_size)
    job = await BulkJob.get(id=job.id)
    assert job.status == "SUCCEEDED" and job.processed == 2 * chunk_size
    return len(statements)


async def test_a_chunk_sends_the_same_statements_whatever_it_holds() -> None:
    small = await make_domain()
    small_count = await statements_of_two_chunks(many_rows(small, 20), small, 10)
    # Ten times the rows, and every kind of outcome: new, changed, unchanged, refused.
    large = await make_domain()
    await make_many_users(large, 100, prefix="imp")  # "Person n" differs from their ""
    await make_many_users(large, 50, prefix="same")
    await User.filter(email_normalized__startswith="same-").update(display_name="Same")
    mixed = "".join(
        f"same-{number:06d}@{large.name},Same,USER\n" for number in range(50)
    ) + "".join(f"bad-{number},,\n" for number in range(50))
    csv = many_rows(large, 300) + mixed
    large_count = await statements_of_two_chunks(csv, large, 200)
    job = await BulkJob.filter(domain_id=large.id).get()
    assert (job.created, job.updated, job.skipped, job.failed) == (200, 100, 50, 50)
    assert small_count == large_count


async def test_cancelling_an_import_stops_it_between_chunks() -> None:
    domain = await make_domain()
    admin = await make_user(domain, roles=[Role.SYSTEM_ADMIN])
    security = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    job = await queued_import(domain, many_rows(domain, 50))

    async def cancel_after_first_chunk(current: BulkJob) -> None:
        if current.processed == 10:
            # Who may start an import may cancel it; a SECURITY_ADMIN may not.
            with pytest.raises(Exception) as refused:
                await cancel_job(actor=security, job_id=str(current.id), meta=SYSTEM)
            assert type(refused.value).__name__ == "ForbiddenError"
            await cancel_job(actor=admin, job_id=str(current.id), meta=SYSTEM)

    await run_bulk_job(job.id, chunk_size=10, on_progress=cancel_after_first_chunk)
    job = await BulkJob.get(id=job.id)
    assert (job.status, job.processed, job.created) == ("CANCELLED", 10, 10)
    assert job.active_domain_id is None
    assert await User.filter(domain_id=domain.id, email__startswith="imp-").count() == 10
    assert await ImportRow.filter(job_id=job.id, outcome=None).count() == 40


async def test_two_runners_at_once_apply_each_row_once() -> None:
    domain = await make_domain()
    job = await queued_import(domain, many_rows(domain, 120))
    await asyncio.gather(run_bulk_job(job.id, chunk_size=7), run_bulk_job(job.id, chunk_size=7))
    job = await BulkJob.get(id=job.id)
    assert (job.status, job.processed, job.created) == ("SUCCEEDED", 120, 120)
    created = await AuditEvent.filter(job_id=job.id, action="USER_CREATED").count()
    assert created == 120 == await User.filter(domain_id=domain.id).count()


async def test_an_empty_file_finishes_at_once() -> None:
    domain = await make_domain()
    job = await queued_import(domain, HEADER)
    await run_bulk_job(job.id)
    job = await BulkJob.get(id=job.id)
    assert (job.status, job.total, job.processed) == ("SUCCEEDED", 0, 0)


async def _outcomes(domain: Domain, csv: str, *, dry_run: bool) -> list[tuple[int, str]]:
    job = await queued_import(domain, csv, dry_run=dry_run)
    await run_bulk_job(job.id, chunk_size=1)  # every row its own chunk
    rows = await ImportRow.filter(job_id=job.id).order_by("line")
    return [(row.line, row.outcome) for row in rows]


@pytest.mark.parametrize("dry_run", [True, False])
async def test_a_dry_run_refuses_across_chunks_exactly_what_the_import_would(
    dry_run: bool,
) -> None:
    """Each chunk of a dry run counts the domain's admins, which a dry run never changes:
    without carrying the accepted changes, line 3 was previewed as accepted (the import
    refuses it: it takes the last SECURITY_ADMIN), and line 5 as refused (the import accepts
    it: line 4 made another SYSTEM_ADMIN)."""
    domain = await make_domain()
    only = await make_user(domain, roles=[Role.SYSTEM_ADMIN])
    first = await make_user(domain, roles=[Role.USER, Role.SECURITY_ADMIN])
    second = await make_user(domain, roles=[Role.USER, Role.SECURITY_ADMIN])
    csv = HEADER + (
        f"{first.email},,USER\n"  # line 2: one SECURITY_ADMIN left
        f"{second.email},,USER\n"  # line 3: would leave none: refused
        f"new@{domain.name},,USER;SYSTEM_ADMIN\n"  # line 4: a second SYSTEM_ADMIN
        f"{only.email},,USER\n"  # line 5: the new one is left: accepted
    )
    assert await _outcomes(domain, csv, dry_run=dry_run) == [
        (2, "UPDATED"),
        (3, "REFUSED"),
        (4, "CREATED"),
        (5, "UPDATED"),
    ]
