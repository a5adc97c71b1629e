"""The outbox writers: one statement per call, dedupe keys, the domain's optional switch."""

import pytest
from tortoise.transactions import in_transaction

from gql_portal.accounts.models import PasswordSecurityRules
from gql_portal.notifications import outbox
from gql_portal.notifications.models import NotificationKind, NotificationStatus
from tests.bulk.helpers import make_many_users
from tests.factories import make_domain, make_user
from tests.notifications.helpers import rows
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("database")
K = NotificationKind


async def _switch(domain_id: int, on: bool) -> None:
    await PasswordSecurityRules.filter(domain_id=domain_id).update(
        optional_notifications_enabled=on
    )


async def test_enqueue_writes_one_queued_row_with_its_params() -> None:
    domain = await make_domain()
    user = await make_user(domain)
    async with in_transaction() as connection:
        await outbox.enqueue(
            K.RECOVERY_CODE_USED,
            domain_id=domain.id,
            user_id=user.id,
            recipient=user.email,
            params={"remaining": 9},
            using_db=connection,
        )
    [row] = await rows()
    assert (row.kind, row.recipient, row.user_id, row.domain_id) == (
        "RECOVERY_CODE_USED",
        user.email,
        user.id,
        domain.id,
    )
    assert row.status == NotificationStatus.QUEUED.value and row.attempts == 0
    assert row.params == {"remaining": 9}
    assert row.next_attempt_at <= row.created_at or row.next_attempt_at == row.created_at


async def test_a_rolled_back_change_leaves_no_message() -> None:
    domain = await make_domain()
    user = await make_user(domain)
    try:
        async with in_transaction() as connection:
            await outbox.enqueue(
                K.TWO_FACTOR_RESET,
                domain_id=domain.id,
                user_id=user.id,
                recipient=user.email,
                params={},
                using_db=connection,
            )
            raise RuntimeError("the change fails after its message was written")
    except RuntimeError:
        pass
    assert await rows() == []


async def test_a_dedupe_key_makes_a_message_once_only() -> None:
    domain = await make_domain()
    user = await make_user(domain)
    for _ in range(2):
        async with in_transaction() as connection:
            await outbox.enqueue(
                K.ENROLLMENT_REMINDER,
                domain_id=domain.id,
                user_id=user.id,
                recipient=user.email,
                params={"hours": 72},
                using_db=connection,
                dedupe_key=f"reminder-72:{user.id}:x",
            )
    assert len(await rows()) == 1


async def test_optional_kinds_follow_the_domain_switch_security_kinds_do_not() -> None:
    domain = await make_domain()
    user = await make_user(domain)
    await _switch(domain.id, False)
    async with in_transaction() as connection:
        for kind in (K.ENROLLMENT_REMINDER, K.JOB_FINISHED, K.CODE_STEP_LOCKED):
            await outbox.enqueue(
                kind,
                domain_id=domain.id,
                user_id=user.id,
                recipient=user.email,
                params={},
                using_db=connection,
            )
        assert (
            await outbox.enqueue_for_users(
                K.JOB_FINISHED, user_ids=[user.id], params={}, using_db=connection
            )
            == 0
        )
        assert (
            await outbox.enqueue_each(
                K.ENROLLMENT_REMINDER,
                items=[outbox.Recipient(domain.id, user.id, user.email, {})],
                using_db=connection,
            )
            == 0
        )
    assert [row.kind for row in await rows()] == ["CODE_STEP_LOCKED"]
    await _switch(domain.id, True)
    async with in_transaction() as connection:
        await outbox.enqueue(
            K.JOB_FINISHED,
            domain_id=domain.id,
            user_id=user.id,
            recipient=user.email,
            params={},
            using_db=connection,
        )
    assert [row.kind for row in await rows()] == ["CODE_STEP_LOCKED", "JOB_FINISHED"]


async def test_enqueue_for_users_is_one_statement_and_a_repeat_writes_nothing() -> None:
    domain = await make_domain()
    other = await make_domain()
    ids = await make_many_users(domain, 300)
    stranger = await make_user(other)
    for attempt in range(2):
        async with in_transaction() as connection:
            with count_queries() as statements:
                written = await outbox.enqueue_for_users(
                    K.TWO_FACTOR_ENABLED,
                    user_ids=[*ids, stranger.id],
                    params={"via": "bulk", "deadline": None},
                    using_db=connection,
                    dedupe_prefix="enabled:job-1:",
                )
        assert len(statements) == 1
        assert written == (301 if attempt == 0 else 0)
    written_rows = await rows()
    assert len(written_rows) == 301
    by_user = {row.user_id: row for row in written_rows}
    assert by_user[stranger.id].domain_id == other.id
    assert by_user[stranger.id].recipient == stranger.email
    assert by_user[ids[0]].dedupe_key == f"enabled:job-1:{ids[0]}"
    assert by_user[ids[0]].params == {"via": "bulk", "deadline": None}


async def test_enqueue_for_users_takes_users_chosen_in_sql() -> None:
    domain = await make_domain()
    ids = await make_many_users(domain, 5)
    async with in_transaction() as connection:
        written = await outbox.enqueue_for_users(
            K.TWO_FACTOR_ENABLED,
            user_ids=outbox.UsersWhere("u.domain_id = ? AND u.id > ?", [domain.id, ids[1]]),
            params={},
            using_db=connection,
        )
    assert written == 3
    assert sorted(row.user_id for row in await rows()) == ids[2:]


async def test_enqueue_each_writes_per_recipient_params_in_one_statement() -> None:
    domain = await make_domain()
    ids = await make_many_users(domain, outbox.ROWS_PER_INSERT + 200)
    items = [
        outbox.Recipient(domain.id, user_id, f"u{user_id}@x.example", {"n": user_id}, f"k{user_id}")
        for user_id in ids
    ]
    async with in_transaction() as connection:
        with count_queries() as statements:
            written = await outbox.enqueue_each(K.INVITATION, items=items, using_db=connection)
        again = await outbox.enqueue_each(K.INVITATION, items=items[:10], using_db=connection)
    assert written == len(ids) and again == 0
    assert len(statements) == 2  # ROWS_PER_INSERT rows per INSERT, one JSON parameter
    stored = await rows()
    assert [row.params["n"] for row in stored] == ids
    assert stored[0].dedupe_key == f"k{ids[0]}"


async def test_the_enqueued_counter_counts_written_rows_by_kind() -> None:
    from prometheus_client import REGISTRY

    def counted() -> float:
        value = REGISTRY.get_sample_value(
            "gql_portal_notifications_enqueued_total", {"kind": "TWO_FACTOR_ENABLED"}
        )
        return value or 0.0

    domain = await make_domain()
    ids = await make_many_users(domain, 12)
    before = counted()
    for _ in range(2):
        async with in_transaction() as connection:
            await outbox.enqueue_for_users(
                K.TWO_FACTOR_ENABLED,
                user_ids=ids,
                params={},
                using_db=connection,
                dedupe_prefix="count:",
            )
    assert counted() == before + 12  # the repeat wrote nothing and counted nothing
