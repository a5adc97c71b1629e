"""A bulk job queues its messages set-based, in its chunks' transactions, and tells its
requester when it is done."""

from collections import Counter

import pytest
from tortoise.transactions import in_transaction

from gql_portal.accounts.models import PasswordSecurityRules, Role, User
from gql_portal.bulk.chunk import enable_chunk
from gql_portal.bulk.models import BulkJob
from gql_portal.bulk.runner import fail_job, run_bulk_job
from gql_portal.clock import utcnow
from gql_portal.notifications.models import Notification, NotificationKind
from tests.bulk.helpers import make_many_users
from tests.factories import make_domain, make_user
from tests.notifications.helpers import queued_job, rows
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("database")
K = NotificationKind


async def test_ten_thousand_users_queue_ten_thousand_messages_at_a_fixed_cost_per_chunk() -> None:
    domain = await make_domain(two_factor=True)
    await PasswordSecurityRules.filter(domain_id=domain.id).update(enrollment_grace_period_hours=72)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    ids = await make_many_users(domain, 10_000)
    job = await queued_job(domain.id, admin)
    with count_queries() as statements:
        result = await run_bulk_job(job.id, chunk_size=1000)
    assert result.job is not None and result.job.changed == 10_001
    enabled = await rows(K.TWO_FACTOR_ENABLED)
    assert len(enabled) == 10_001
    assert Counter(row.user_id for row in enabled) == Counter([*ids, admin.id])
    assert {row.job_id for row in enabled} == {job.id}
    deadline = (await User.get(id=ids[0])).enrollment_deadline
    assert deadline is not None
    assert enabled[0].params == {"via": "bulk", "deadline": deadline.isoformat()}
    # One INSERT of messages per chunk, whatever the chunk's size.
    inserts = [sql for sql in statements if sql.startswith("INSERT INTO notifications")]
    assert len(inserts) == 11 + 1  # 11 chunks and the requester's summary
    assert len(statements) <= 11 * 8 + 12  # 8 per chunk (the messages one of them), start, end


async def test_a_chunk_run_again_writes_no_second_message() -> None:
    domain = await make_domain(two_factor=True)
    ids = await make_many_users(domain, 50)
    job = await queued_job(domain.id, None)
    rules = await PasswordSecurityRules.get(domain_id=domain.id)
    for _ in range(2):
        async with in_transaction() as connection:
            await enable_chunk(job, rules, ids, utcnow(), connection)
    assert len(await rows(K.TWO_FACTOR_ENABLED)) == 50
    # Even where the users' rows were rolled back by hand (the dedupe key alone decides).
    await User.filter(id__in=ids).update(two_factor_enabled=False)
    async with in_transaction() as connection:
        await enable_chunk(job, rules, ids, utcnow(), connection)
    assert len(await rows(K.TWO_FACTOR_ENABLED)) == 50


async def test_the_requester_gets_one_summary_and_the_switch_turns_it_off() -> None:
    domain = await make_domain(two_factor=True)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    await make_many_users(domain, 20)
    job = await queued_job(domain.id, admin)
    await run_bulk_job(job.id, chunk_size=7)
    await run_bulk_job(job.id, chunk_size=7)  # a second runner: the job is final
    [summary] = await rows(K.JOB_FINISHED)
    assert summary.recipient == admin.email and summary.user_id == admin.id
    assert summary.params["status"] == "SUCCEEDED"
    assert (summary.params["processed"], summary.params["changed"]) == (21, 21)

    quiet = await make_domain(two_factor=True)
    await PasswordSecurityRules.filter(domain_id=quiet.id).update(
        optional_notifications_enabled=False
    )
    quiet_admin = await make_user(quiet, roles=[Role.SECURITY_ADMIN])
    await make_many_users(quiet, 5, prefix="quiet")
    quiet_job = await queued_job(quiet.id, quiet_admin)
    await run_bulk_job(quiet_job.id)
    assert await Notification.filter(domain_id=quiet.id, kind="JOB_FINISHED").count() == 0
    # Security messages cannot be turned off.
    assert await Notification.filter(domain_id=quiet.id, kind="TWO_FACTOR_ENABLED").count() == 6


async def test_a_failed_job_tells_its_requester_an_operators_job_tells_no_one() -> None:
    domain = await make_domain(two_factor=True)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    job = await queued_job(domain.id, admin)
    await fail_job(job.id, "Two-Factor Authentication was turned off for the domain")
    await fail_job(job.id, "again")  # already final: no second summary
    [summary] = await rows(K.JOB_FINISHED)
    assert summary.params["status"] == "FAILED"
    assert summary.params["error"] == "Two-Factor Authentication was turned off for the domain"
    other = await make_domain(two_factor=True)
    await make_many_users(other, 3)
    operator_job = await queued_job(other.id, None)
    await run_bulk_job(operator_job.id)
    assert await Notification.filter(domain_id=other.id, kind="JOB_FINISHED").count() == 0


async def test_an_import_chunk_tells_its_users_they_were_enabled_by_an_import() -> None:
    domain = await make_domain(two_factor=True)
    ids = await make_many_users(domain, 4)
    job = await queued_job(domain.id, None)
    await BulkJob.filter(id=job.id).update(kind="IMPORT_USERS")
    job = await BulkJob.get(id=job.id)
    rules = await PasswordSecurityRules.get(domain_id=domain.id)
    async with in_transaction() as connection:
        await enable_chunk(job, rules, ids, utcnow(), connection)
    enabled = await rows(K.TWO_FACTOR_ENABLED)
    assert [row.params["via"] for row in enabled] == ["import"] * 4
