from datetime import timedelta

import pytest
from tortoise.exceptions import IntegrityError

from gql_portal.accounts.models import PasswordSecurityRules, Role, User
from gql_portal.audit.models import AuditEvent
from gql_portal.bulk.chunk import enable_chunk
from gql_portal.bulk.dispatch import InProcessDispatcher
from gql_portal.bulk.models import BulkJob
from gql_portal.bulk.runner import run_bulk_job
from gql_portal.bulk.selection import build_selection
from gql_portal.bulk.services import cancel_job, start_job
from gql_portal.clock import utcnow
from gql_portal.request_meta import SYSTEM
from gql_portal.two_factor.gate import TwoFactorState
from tests.bulk.helpers import enabled_event_counts, make_many_users
from tests.factories import make_domain, make_user

pytestmark = pytest.mark.usefixtures("database")


async def _queued_job(domain_id: int, **selection: object) -> BulkJob:
    """A job as the API leaves it, handed to a dispatcher that runs nothing yet."""
    dispatcher = InProcessDispatcher()
    job = await start_job(
        actor=None,
        domain_id=domain_id,
        selection=build_selection(**selection),  # type: ignore[arg-type]
        dry_run=False,
        meta=SYSTEM,
        dispatcher=dispatcher,
    )
    await dispatcher.close()  # the task never got to run: the job stays QUEUED
    return await BulkJob.get(id=job.id)


async def test_job_enables_each_selected_user_once_in_chunks() -> None:
    domain = await make_domain(two_factor=True)
    await PasswordSecurityRules.filter(domain_id=domain.id).update(enrollment_grace_period_hours=48)
    ids = await make_many_users(domain, 95)
    already = ids[10:15]
    await User.filter(id__in=already).update(two_factor_enabled=True)
    other = await make_user(await make_domain(two_factor=True))
    job = await _queued_job(domain.id)
    assert job.status == "QUEUED" and job.total == 95 and job.active_domain_id == domain.id

    seen: list[int] = []

    async def progress(current: BulkJob) -> None:
        seen.append(current.processed)

    result = await run_bulk_job(job.id, chunk_size=10, on_progress=progress)
    job = await BulkJob.get(id=job.id)
    assert result.finished and job.status == "SUCCEEDED" and job.active_domain_id is None
    assert (job.total, job.processed, job.changed, job.skipped) == (95, 95, 90, 5)
    assert job.progress == 1.0 and job.checkpoint_user_id == ids[-1]
    assert seen[:3] == [10, 20, 30]
    counts = await enabled_event_counts(job.id)
    assert set(counts) == set(ids) - set(already) and set(counts.values()) == {1}
    enabled = await User.filter(id__in=ids, two_factor_enabled=True).count()
    assert enabled == 95
    user = await User.get(id=ids[0])
    assert user.two_factor_enabled_at is not None and user.enrollment_deadline is not None
    assert user.enrollment_deadline - user.two_factor_enabled_at == timedelta(hours=48)
    assert not (await User.get(id=other.id)).two_factor_enabled
    job_events = AuditEvent.filter(job_id=job.id, target_id=None)
    actions = await job_events.values_list("action", flat=True)
    assert sorted(actions) == ["BULK_JOB_FINISHED", "BULK_JOB_STARTED"]


async def test_running_the_job_again_changes_nothing() -> None:
    domain = await make_domain(two_factor=True)
    await make_many_users(domain, 30)
    job = await _queued_job(domain.id)
    await run_bulk_job(job.id, chunk_size=7)
    before = await AuditEvent.all().count()
    done = await BulkJob.get(id=job.id)
    again = await run_bulk_job(job.id, chunk_size=7)
    assert again.job is not None and again.job.status == "SUCCEEDED"
    assert await AuditEvent.all().count() == before
    after = await BulkJob.get(id=job.id)
    assert (after.processed, after.changed, after.finished_at) == (
        done.processed,
        done.changed,
        done.finished_at,
    )


async def test_two_runners_at_once_do_each_chunk_once() -> None:
    import asyncio

    domain = await make_domain(two_factor=True)
    ids = await make_many_users(domain, 60)
    job = await _queued_job(domain.id)
    await asyncio.gather(run_bulk_job(job.id, chunk_size=5), run_bulk_job(job.id, chunk_size=5))
    job = await BulkJob.get(id=job.id)
    assert (job.status, job.processed, job.changed) == ("SUCCEEDED", 60, 60)
    assert await enabled_event_counts(job.id) == {user_id: 1 for user_id in ids}


async def test_filters_select_by_role_state_and_ids() -> None:
    domain = await make_domain(two_factor=True)
    admins = await make_many_users(domain, 4, roles=[Role.SYSTEM_ADMIN], prefix="adm")
    users = await make_many_users(domain, 6)
    await User.filter(id=users[0]).update(two_factor_enabled=True)
    job = await _queued_job(
        domain.id,
        roles=[Role.USER, Role.AUDITOR],
        two_factor_states=[TwoFactorState.DISABLED],
        user_ids=[str(user_id) for user_id in users[:4] + admins[:2]],
    )
    assert job.total == 3
    await run_bulk_job(job.id)
    assert set(await enabled_event_counts(job.id)) == set(users[1:4])
    assert not await User.filter(id__in=admins, two_factor_enabled=True).exists()


async def test_cancel_takes_effect_between_chunks() -> None:
    domain = await make_domain(two_factor=True)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    await make_many_users(domain, 50)
    job = await _queued_job(domain.id)

    async def cancel_after_first_chunk(current: BulkJob) -> None:
        if current.processed == 10:
            await cancel_job(actor=admin, job_id=str(current.id), meta=SYSTEM)

    await run_bulk_job(job.id, chunk_size=10, on_progress=cancel_after_first_chunk)
    job = await BulkJob.get(id=job.id)
    assert (job.status, job.processed, job.changed) == ("CANCELLED", 10, 10)
    assert job.active_domain_id is None and job.finished_at is not None
    assert await User.filter(domain_id=domain.id, two_factor_enabled=True).count() == 10
    asked = await AuditEvent.get(job_id=job.id, action="BULK_JOB_CANCELLED")
    assert asked.actor_id == admin.id and asked.details["status"] == "RUNNING"
    # Where it stopped: the job's end, with what its chunks committed.
    ended = await AuditEvent.get(job_id=job.id, action="BULK_JOB_FINISHED")
    assert (ended.details["status"], ended.details["processed"], ended.details["changed"]) == (
        "CANCELLED",
        10,
        10,
    )


async def test_a_failed_job_keeps_what_it_committed() -> None:
    domain = await make_domain(two_factor=True)
    await make_many_users(domain, 40)
    job = await _queued_job(domain.id)

    async def switch_off_after_two_chunks(current: BulkJob) -> None:
        if current.processed == 20:
            await PasswordSecurityRules.filter(domain_id=domain.id).update(two_factor_enabled=False)

    await run_bulk_job(job.id, chunk_size=10, on_progress=switch_off_after_two_chunks)
    job = await BulkJob.get(id=job.id)
    assert job.status == "FAILED" and job.active_domain_id is None
    assert job.error == "Two-Factor Authentication was turned off for the domain"
    assert (job.processed, job.changed) == (20, 20)
    assert await User.filter(domain_id=domain.id, two_factor_enabled=True).count() == 20
    finished = await AuditEvent.get(job_id=job.id, action="BULK_JOB_FINISHED")
    assert finished.outcome == "FAILURE" and finished.details["error"] == job.error


async def test_a_corrupt_stored_filter_fails_readably() -> None:
    domain = await make_domain(two_factor=True)
    job = await _queued_job(domain.id)
    await BulkJob.filter(id=job.id).update(user_filter={"roles": ["NO_SUCH_ROLE"]})
    await run_bulk_job(job.id)
    job = await BulkJob.get(id=job.id)
    assert job.status == "FAILED" and job.error is not None
    assert "ValueError" in job.error and "NO_SUCH_ROLE" not in job.error


async def test_the_database_refuses_a_second_event_for_a_user_and_job() -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain)
    job = await _queued_job(domain.id)
    from tortoise.transactions import in_transaction

    rules = await PasswordSecurityRules.get(domain_id=domain.id)
    for _ in range(2):
        async with in_transaction() as connection:
            assert await enable_chunk(job, rules, [user.id], utcnow(), connection) == 1
        # Undo the user's change behind the job's back: the chunk's UPDATE takes the user
        # again, and only the unique key keeps the INSERT from writing a second event.
        await User.filter(id=user.id).update(two_factor_enabled=False)
    assert await enabled_event_counts(job.id) == {user.id: 1}
    with pytest.raises(IntegrityError):
        await AuditEvent.create(
            domain_id=domain.id,
            occurred_at=utcnow(),
            action="USER_TWO_FACTOR_ENABLED",
            outcome="SUCCESS",
            target_id=user.id,
            job_id=job.id,
        )
