"""Refused logins do not flood the audit log or the throttle table (issue 11, point 4).

While an email is locked its refusals write one event per lock window; an unknown email
writes no audit row and its typed text is stored nowhere (people type passwords into the
email field); expired throttle rows are purged by the maintenance that runs anyway.
"""

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

from prometheus_client import REGISTRY
from starlette.applications import Starlette
from tortoise import Tortoise

from gql_portal import clock
from gql_portal.accounts import throttle
from gql_portal.accounts.models import LoginIpThrottle, LoginThrottle
from gql_portal.audit.maintenance import AuditMaintenance
from gql_portal.audit.models import AuditEvent
from gql_portal.crypto import keyed_identifier, reset_cipher
from gql_portal.settings import get_settings
from tests.accounts.login_clients import client_from, ip_number
from tests.database import TestDatabase
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient, Result
from tests.two_factor.helpers import try_login
from workers.settings import WorkerSettings, purge_throttles

WRONG = "not-the-password-at-all"


async def _refuse_from_many_addresses(app: Starlette, email: str, count: int) -> Counter[str]:
    """``count`` logins with the right password, 20 at a time (fewer than the hashing
    queue's places), each from its own address (so the per-IP limit never answers for the
    email throttle)."""

    async def attempt(index: int) -> Result:
        async with client_from(app, ip_number(index)) as client:
            return await try_login(client, email, PASSWORD)

    codes: Counter[str] = Counter()
    for start in range(0, count, 20):
        results = await asyncio.gather(*(attempt(i) for i in range(start, start + 20)))
        codes.update(result.code for result in results)
    return codes


async def test_a_thousand_refusals_on_a_locked_email_write_one_event(
    app: Starlette, database: TestDatabase, client: GraphQLClient
) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    for _ in range(throttle.LOCK_AFTER_FAILURES):
        assert (await try_login(client, user.email, WRONG)).code == "INVALID_CREDENTIALS"
    assert await _refuse_from_many_addresses(app, user.email, 1000) == {"TOO_MANY_ATTEMPTS": 1000}
    events = await AuditEvent.filter(action="LOGIN_FAILED").order_by("id")
    reasons = Counter((event.details or {})["reason"] for event in events)
    assert reasons == {"bad_credentials": 10, "locked": 1}
    window = events[-1]
    assert (window.domain_id, window.target_id) == (domain.id, user.id)
    row = await LoginThrottle.get(key=throttle.throttle_key(user.email_normalized))
    assert window.details == {"reason": "locked", "lockedUntil": row.locked_until.isoformat()}
    assert row.refused == 1000
    assert await AuditEvent.all().count() == 11
    # The next window gets its own event, and only one.
    clock.travel(throttle.LOCK_DURATION + timedelta(seconds=1))
    for _ in range(throttle.LOCK_AFTER_FAILURES):
        assert (await try_login(client, user.email, WRONG)).code == "INVALID_CREDENTIALS"
    assert await _refuse_from_many_addresses(app, user.email, 100) == {"TOO_MANY_ATTEMPTS": 100}
    assert await AuditEvent.filter(action="LOGIN_FAILED").count() == 22


async def test_an_unknown_email_writes_no_audit_row_locked_or_not(
    app: Starlette, database: TestDatabase, client: GraphQLClient
) -> None:
    ghost = "ghost@nowhere.example"
    before = {reason: _unaudited(reason) for reason in ("unknown_email", "locked")}
    answers = Counter([(await try_login(client, ghost, WRONG)).code for _ in range(10)])
    answers.update(await _refuse_from_many_addresses(app, ghost, 200))
    assert answers == {"INVALID_CREDENTIALS": 10, "TOO_MANY_ATTEMPTS": 200}
    assert await AuditEvent.all().count() == 0
    # Counted for operators instead: 10 failures and the window's first refusal, then 199.
    counted = {reason: _unaudited(reason) - before[reason] for reason in before}
    assert counted == {"unknown_email": 11, "locked": 199}


def _unaudited(reason: str) -> float:
    sample = REGISTRY.get_sample_value(
        "gql_portal_login_failures_unaudited_total", {"reason": reason}
    )
    return sample or 0.0


async def _all_stored_text() -> list[tuple[str, str, str]]:
    """(table, column, text) of every value in every table of the app."""
    connection = Tortoise.get_connection("default")
    found = []
    for model in Tortoise.apps.get_models_iterable():  # type: ignore[union-attr]
        table = model._meta.db_table
        rows: list[dict[str, Any]] = await connection.execute_query_dict(f'SELECT * FROM "{table}"')
        found += [(table, column, str(value)) for row in rows for column, value in row.items()]
    return found


async def test_typed_identifiers_of_unknown_accounts_are_stored_nowhere(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    typed = [
        "Ghost.Walker@Nowhere.example",
        "Summer2031!MyDogRex",  # a password typed into the email field
    ]
    for value in typed:
        for _ in range(throttle.LOCK_AFTER_FAILURES + 2):
            assert (await try_login(client, value, WRONG)).codes[0] in {
                "INVALID_CREDENTIALS",
                "TOO_MANY_ATTEMPTS",
            }
    for _ in range(throttle.LOCK_AFTER_FAILURES + 2):
        await try_login(client, user.email, WRONG)
    stored = await _all_stored_text()
    for value in typed:
        needles = {value.lower(), value.strip().lower()}
        leaks = [(t, c) for t, c, text in stored if any(n in text.lower() for n in needles)]
        assert leaks == [], f"{value!r} stored in {leaks}"
        # Still correlated: the throttle row is found by the keyed hash of the typed value.
        row = await LoginThrottle.get(key=keyed_identifier(value.lower()))
        assert row.failures == throttle.LOCK_AFTER_FAILURES and row.refused == 2
    assert await LoginThrottle.all().count() == 3
    # Known accounts: their domain reads the events; the throttle still holds no email.
    throttled = [text for table, _, text in stored if table == "login_throttles"]
    assert not [text for text in throttled if user.email_normalized in text]
    assert await AuditEvent.filter(domain_id=None).count() == 0


async def test_the_keyed_identifier_changes_with_the_first_key(database: TestDatabase) -> None:
    import os

    from cryptography.fernet import Fernet

    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    saved = os.environ.get("GQL_PORTAL_ENCRYPTION_KEYS")
    try:
        digests = []
        for keys in (f"{first},{second}", f"{first}", f"{second},{first}"):
            os.environ["GQL_PORTAL_ENCRYPTION_KEYS"] = keys
            get_settings.cache_clear()
            reset_cipher()
            digests.append(keyed_identifier("ann@example.test"))
        assert digests[0] == digests[1] != digests[2]
        assert all(len(d) == 64 and "ann" not in d for d in digests)
    finally:
        if saved is None:
            os.environ.pop("GQL_PORTAL_ENCRYPTION_KEYS", None)
        else:
            os.environ["GQL_PORTAL_ENCRYPTION_KEYS"] = saved
        get_settings.cache_clear()
        reset_cipher()


async def test_an_email_in_two_domains_is_audited_in_each(client: GraphQLClient) -> None:
    first, second = await make_domain(), await make_domain()
    one = await make_user(first, "shared@people.example")
    other = await make_user(second, "shared@people.example")
    assert (await try_login(client, "shared@people.example", WRONG)).code == "INVALID_CREDENTIALS"
    events = await AuditEvent.filter(action="LOGIN_FAILED").order_by("domain_id")
    named = [(event.domain_id, event.target_id) for event in events]
    assert named == [(first.id, one.id), (second.id, other.id)]


async def _throttle_keys() -> set[str]:
    return set(await LoginThrottle.all().values_list("key", flat=True))  # type: ignore[arg-type]


async def test_expired_throttle_rows_are_purged_in_batches(client: GraphQLClient) -> None:
    for index in range(5):
        await try_login(client, f"sprayed{index}@nowhere.example", WRONG)
    for _ in range(throttle.LOCK_AFTER_FAILURES):
        await try_login(client, "locked@nowhere.example", WRONG)
    assert len(await _throttle_keys()) == 6
    assert await LoginIpThrottle.all().count() == 1
    assert await throttle.purge_login_throttles(batch_size=2) == throttle.PurgedThrottles(0, 0)
    # The lock and the IP window are over; the counts of the sprayed emails still hold.
    clock.travel(throttle.LOCK_DURATION + timedelta(seconds=1))
    renewed = "sprayed0@nowhere.example"
    await try_login(client, renewed, WRONG)  # a new failure keeps its count for a day more
    assert await throttle.purge_login_throttles(batch_size=2) == throttle.PurgedThrottles(1, 0)
    assert len(await _throttle_keys()) == 5
    # The renewed IP window is purged once over; a count is forgotten a day after its last.
    clock.travel(throttle.FAILURE_MEMORY - throttle.LOCK_DURATION)
    assert await throttle.purge_login_throttles(batch_size=2) == throttle.PurgedThrottles(4, 1)
    assert await _throttle_keys() == {throttle.throttle_key(renewed)}
    clock.travel(throttle.LOCK_DURATION * 2)
    assert await throttle.purge_login_throttles(batch_size=2) == throttle.PurgedThrottles(1, 0)
    assert await LoginThrottle.all().count() == 0


async def test_the_maintenance_and_the_worker_purge_throttles(client: GraphQLClient) -> None:
    await try_login(client, "sprayed@nowhere.example", WRONG)
    clock.travel(throttle.FAILURE_MEMORY + timedelta(seconds=1))
    maintenance = AuditMaintenance(seal_interval=0.05, throttle_purge_interval=0)
    maintenance.start()
    try:
        for _ in range(200):
            if await LoginThrottle.all().count() == 0 and await LoginIpThrottle.all().count() == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        await maintenance.stop()
    assert await LoginThrottle.all().count() == 0
    assert await LoginIpThrottle.all().count() == 0
    # With Redis the arq worker runs the same purge every minute.
    await try_login(client, "sprayed@nowhere.example", WRONG)
    clock.travel(throttle.FAILURE_MEMORY + timedelta(seconds=1))
    assert any(job.coroutine is purge_throttles for job in WorkerSettings.cron_jobs)
    await purge_throttles({})
    assert await LoginThrottle.all().count() == 0
