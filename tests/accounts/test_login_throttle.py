"""The password throttle's upsert (gql_portal/accounts/throttle.py), beyond what
tests/two_factor/test_password_throttle.py checks through logins: a refusal changes
nothing but the window's count of refusals, the count restarts after a lock, concurrent
guesses, and instants compared as SQLite text (whole seconds, second boundaries, rows
written by Tortoise)."""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gql_portal import clock
from gql_portal.accounts import throttle
from gql_portal.accounts.models import LoginThrottle
from gql_portal.audit.models import AuditEvent
from gql_portal.errors import TooManyAttemptsError
from gql_portal.sql import db_value, fetch
from tests.database import TestDatabase
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import LOGIN, GraphQLClient
from tests.two_factor.helpers import try_login

WRONG = "not-the-password-at-all"


async def _row(email: str) -> tuple[int, datetime | None, datetime]:
    row = await LoginThrottle.get(key=throttle.throttle_key(email))
    return row.failures, row.locked_until, row.updated_at


async def test_a_refused_attempt_changes_nothing_and_keeps_the_retry_after(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    for _ in range(10):
        assert (await try_login(client, user.email, WRONG)).code == "INVALID_CREDENTIALS"
    locked = await _row(user.email_normalized)
    assert locked[0] == 10 and locked[1] is not None
    clock.travel(timedelta(minutes=4))
    for password in (WRONG, PASSWORD, WRONG):
        refused = await try_login(client, user.email, password)
        assert refused.code == "TOO_MANY_ATTEMPTS"
        # Six minutes left, counted from the lock the 10th failure set, not extended.
        assert 355 <= refused.errors[0]["extensions"]["retryAfter"] <= 361
        assert await _row(user.email_normalized) == locked


async def test_after_the_lock_runs_out_the_count_restarts_at_one(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    for _ in range(10):
        await try_login(client, user.email, WRONG)
    clock.travel(throttle.LOCK_DURATION + timedelta(seconds=1))
    assert (await try_login(client, user.email, WRONG)).code == "INVALID_CREDENTIALS"
    failures, locked_until, updated_at = await _row(user.email_normalized)
    assert (failures, locked_until) == (1, None)
    assert abs(updated_at - clock.utcnow()) < timedelta(seconds=5)
    for expected in range(2, 10):
        assert (await try_login(client, user.email, WRONG)).code == "INVALID_CREDENTIALS"
        assert (await _row(user.email_normalized))[:2] == (expected, None)
    # The 10th failure of the new count is still checked, and locks again.
    assert (await try_login(client, user.email, WRONG)).code == "INVALID_CREDENTIALS"
    failures, locked_until, updated_at = await _row(user.email_normalized)
    assert failures == 10 and locked_until == updated_at + throttle.LOCK_DURATION
    assert (await try_login(client, user.email, PASSWORD)).code == "TOO_MANY_ATTEMPTS"


async def test_concurrent_guesses_are_never_checked_more_than_ten_times(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    results = await asyncio.gather(
        *(client.execute(LOGIN, {"email": user.email, "password": WRONG}) for _ in range(30))
    )
    assert Counter(result.code for result in results) == {
        "INVALID_CREDENTIALS": 10,
        "TOO_MANY_ATTEMPTS": 20,
    }
    failed = await AuditEvent.filter(action="LOGIN_FAILED")
    # The 20 refusals while locked: one event for the lock window, the rest counted.
    assert Counter((event.details or {})["reason"] for event in failed) == {
        "bad_credentials": 10,
        "locked": 1,
    }
    failures, locked_until, _ = await _row(user.email_normalized)
    assert failures == 10 and locked_until is not None
    assert (await LoginThrottle.get(key=throttle.throttle_key(user.email_normalized))).refused == 20


# --- instants at the edges, on the service itself with a frozen clock -----------------

EMAIL = "edge@throttle.example"


def _freeze(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    monkeypatch.setattr(throttle, "utcnow", lambda: at)


async def _attempt(monkeypatch: pytest.MonkeyPatch, at: datetime) -> int | None:
    """None if counted, else the retryAfter of the refusal."""
    _freeze(monkeypatch, at)
    try:
        await throttle.count_login_attempt(EMAIL)
    except TooManyAttemptsError as refused:
        return int(refused.extensions["retryAfter"])
    return None


async def _lock_by_upsert(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    for _ in range(throttle.LOCK_AFTER_FAILURES):
        assert await _attempt(monkeypatch, at) is None


async def _lock_by_tortoise(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    # As the ORM wrote locks before the upsert existed (rows of a running deployment).
    until = at + throttle.LOCK_DURATION
    await LoginThrottle.create(
        key=throttle.throttle_key(EMAIL), failures=10, locked_until=until, expires_at=until
    )


LOCKERS = [_lock_by_upsert, _lock_by_tortoise]


@pytest.mark.parametrize("lock", LOCKERS)
async def test_a_lock_ending_on_a_whole_second(
    database: TestDatabase, monkeypatch: pytest.MonkeyPatch, lock: Any
) -> None:
    locked_at = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)  # microsecond == 0
    await lock(monkeypatch, locked_at)
    until = locked_at + throttle.LOCK_DURATION
    stored = await fetch(
        LoginThrottle._meta.db,
        "SELECT locked_until FROM login_throttles WHERE key = ?",
        [throttle.throttle_key(EMAIL)],
    )
    # One text format for both writers on SQLite ("... 05:16:07+00:00", no fraction).
    assert stored[0]["locked_until"] == db_value(LoginThrottle._meta.db, until)
    assert await _attempt(monkeypatch, until - timedelta(seconds=1)) == 2
    assert await _attempt(monkeypatch, until - timedelta(microseconds=1)) == 1
    assert (await _row(EMAIL))[0] == 10
    assert await _attempt(monkeypatch, until) is None  # over exactly when it ends
    assert (await _row(EMAIL))[:2] == (1, None)


@pytest.mark.parametrize("lock", LOCKERS)
async def test_a_lock_ending_just_before_a_second_boundary(
    database: TestDatabase, monkeypatch: pytest.MonkeyPatch, lock: Any
) -> None:
    locked_at = datetime(2031, 3, 4, 5, 6, 7, 999_999, tzinfo=UTC)
    await lock(monkeypatch, locked_at)
    until = locked_at + throttle.LOCK_DURATION
    # As text: "...:07+00:00" < "...:07.999998+00:00" < "...:07.999999+00:00" (the end)
    # < "...:08+00:00"; a whole second has no fraction, and "+" sorts before ".".
    assert await _attempt(monkeypatch, until.replace(microsecond=0)) == 1
    assert await _attempt(monkeypatch, until - timedelta(microseconds=1)) == 1
    assert (await _row(EMAIL))[0] == 10
    assert await _attempt(monkeypatch, until + timedelta(microseconds=1)) is None
    failures, locked_until, updated_at = await _row(EMAIL)
    assert (failures, locked_until) == (1, None)
    assert updated_at == until + timedelta(microseconds=1)
    assert updated_at.microsecond == 0


async def test_a_refusal_far_from_the_end_reports_whole_seconds_rounded_up(
    database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked_at = datetime(2031, 3, 4, 5, 6, 7, 250_000, tzinfo=UTC)
    await _lock_by_upsert(monkeypatch, locked_at)
    # Refused in the very microsecond of the 10th failure: a row that looks exactly like
    # the one the 10th failure returned, still refused (the upsert returns no row).
    assert await _attempt(monkeypatch, locked_at) == 601
    assert await _attempt(monkeypatch, locked_at + timedelta(minutes=9, seconds=59)) == 2
    assert await _attempt(monkeypatch, locked_at + timedelta(minutes=9, seconds=59.5)) == 1
