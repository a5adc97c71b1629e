"""Enrollment reminders: 72 h and 24 h before the deadline, once per user and deadline, only
for users who still have to enroll. Deadlines are set in the rows; the clock is real."""

import asyncio
from datetime import datetime, timedelta

import pytest

from gql_portal.accounts.models import Domain, PasswordSecurityRules, User
from gql_portal.clock import utcnow
from gql_portal.notifications.models import Notification, NotificationKind
from gql_portal.notifications.reminders import send_enrollment_reminders
from gql_portal.two_factor.models import TotpAuthenticator
from tests.factories import make_domain, make_user
from tests.notifications.helpers import rows

pytestmark = pytest.mark.usefixtures("database")
K = NotificationKind


async def _pending(
    domain: Domain, *, deadline_in: timedelta, enabled_ago: timedelta = timedelta(days=7)
) -> User:
    user = await make_user(domain, two_factor_enabled=True)
    now = utcnow()
    await User.filter(id=user.id).update(
        enrollment_deadline=now + deadline_in, two_factor_enabled_at=now - enabled_ago
    )
    return await User.get(id=user.id)


async def _reminded() -> dict[int, list[int]]:
    sent: dict[int, list[int]] = {}
    for row in await rows(K.ENROLLMENT_REMINDER):
        assert row.user_id is not None
        sent.setdefault(row.user_id, []).append(row.params["hours"])
    return sent


async def test_each_user_gets_the_reminder_of_their_window_once() -> None:
    domain = await make_domain(two_factor=True)
    in_60h = await _pending(domain, deadline_in=timedelta(hours=60))
    in_10h = await _pending(domain, deadline_in=timedelta(hours=10))
    in_100h = await _pending(domain, deadline_in=timedelta(hours=100))
    passed = await _pending(domain, deadline_in=timedelta(hours=-1))
    assert await send_enrollment_reminders() == 2
    assert await send_enrollment_reminders() == 0  # the next minute's run writes nothing
    assert await _reminded() == {in_60h.id: [72], in_10h.id: [24]}
    assert in_100h.id not in await _reminded() and passed.id not in await _reminded()
    [row] = await rows(K.ENROLLMENT_REMINDER, user_id=in_60h.id)
    assert in_60h.enrollment_deadline is not None
    assert row.params == {"deadline": in_60h.enrollment_deadline.isoformat(), "hours": 72}
    assert row.dedupe_key == f"reminder-72:{in_60h.id}:{in_60h.enrollment_deadline.isoformat()}"
    assert row.recipient == in_60h.email


async def test_the_72_hour_reminder_then_the_24_hour_one() -> None:
    domain = await make_domain(two_factor=True)
    user = await _pending(domain, deadline_in=timedelta(hours=50))
    await send_enrollment_reminders()
    # A day later (the row's deadline moves closer instead of the clock moving on).
    await User.filter(id=user.id).update(two_factor_enabled_at=utcnow() - timedelta(days=8))
    deadline = user.enrollment_deadline
    assert deadline is not None
    await User.filter(id=user.id).update(enrollment_deadline=utcnow() + timedelta(hours=20))
    await send_enrollment_reminders()
    await send_enrollment_reminders()
    assert await _reminded() == {user.id: [72, 24]}


async def test_no_reminder_for_enrolled_inactive_disabled_or_switched_off_users() -> None:
    domain = await make_domain(two_factor=True)
    enrolled = await _pending(domain, deadline_in=timedelta(hours=20))
    await TotpAuthenticator.create(
        user_id=enrolled.id, secret_encrypted="x", confirmed_at=utcnow(), last_used_step=1
    )
    inactive = await _pending(domain, deadline_in=timedelta(hours=20))
    await User.filter(id=inactive.id).update(active=False)
    disabled = await _pending(domain, deadline_in=timedelta(hours=20))
    await User.filter(id=disabled.id).update(two_factor_enabled=False)
    domain_off = await make_domain(two_factor=False)
    await _pending(domain_off, deadline_in=timedelta(hours=20))
    quiet = await make_domain(two_factor=True)
    await PasswordSecurityRules.filter(domain_id=quiet.id).update(
        optional_notifications_enabled=False
    )
    await _pending(quiet, deadline_in=timedelta(hours=20))
    assert await send_enrollment_reminders() == 0
    assert await rows() == []


async def test_a_user_enabled_after_the_reminders_time_gets_only_the_later_one() -> None:
    domain = await make_domain(two_factor=True)
    # A 48 h grace period: enabled an hour ago, the 72 h mark passed before the enablement.
    user = await _pending(domain, deadline_in=timedelta(hours=47), enabled_ago=timedelta(hours=1))
    assert await send_enrollment_reminders() == 0
    await User.filter(id=user.id).update(enrollment_deadline=utcnow() + timedelta(hours=23))
    assert await send_enrollment_reminders() == 1
    assert await _reminded() == {user.id: [24]}


async def test_a_new_deadline_gets_its_own_reminder() -> None:
    domain = await make_domain(two_factor=True)
    user = await _pending(domain, deadline_in=timedelta(hours=20))
    await send_enrollment_reminders()
    # Days later (the rows move back instead of the clock moving on), disabled and enabled
    # again: a new enablement, a new deadline.
    now = utcnow()
    await Notification.filter(user_id=user.id).update(created_at=now - timedelta(days=3))
    await User.filter(id=user.id).update(
        two_factor_enabled_at=now - timedelta(days=2), enrollment_deadline=now + timedelta(hours=21)
    )
    assert await send_enrollment_reminders() == 1
    assert await _reminded() == {user.id: [24, 24]}


async def test_concurrent_runs_write_each_reminder_once() -> None:
    domain = await make_domain(two_factor=True)
    users = [await _pending(domain, deadline_in=timedelta(hours=h)) for h in (5, 30, 40, 70)]
    written = await asyncio.gather(*(send_enrollment_reminders() for _ in range(4)))
    assert sum(written) == 4
    assert await _reminded() == {
        users[0].id: [24],
        users[1].id: [72],
        users[2].id: [72],
        users[3].id: [72],
    }


async def test_reminders_walk_many_users_in_batches() -> None:
    domain = await make_domain(two_factor=True)
    users = [await _pending(domain, deadline_in=timedelta(hours=30)) for _ in range(7)]
    from gql_portal.notifications.reminders import REMINDERS, send_reminder

    assert await send_reminder(REMINDERS[0], batch_size=3) == 7
    assert sorted(await _reminded()) == sorted(user.id for user in users)


def test_the_reminder_key_names_the_deadline() -> None:
    from gql_portal.notifications.reminders import REMINDERS

    deadline = datetime.fromisoformat("2026-12-05T14:00:00+00:00")
    assert REMINDERS[0].key(7, deadline) == "reminder-72:7:2026-12-05T14:00:00+00:00"
