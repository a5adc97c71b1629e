"""10 failed logins lock an email for 10 minutes, whether the account exists or not."""

from datetime import timedelta

from gql_portal import clock
from gql_portal.audit.models import AuditEvent
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.two_factor.helpers import try_login

WRONG = "not-the-password-at-all"


async def test_ten_failures_lock_the_email_for_ten_minutes(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    for _ in range(10):
        assert (await try_login(client, user.email, WRONG)).code == "INVALID_CREDENTIALS"
    locked = await try_login(client, user.email, PASSWORD)  # even the right password
    assert locked.code == "TOO_MANY_ATTEMPTS"
    assert 590 <= locked.errors[0]["extensions"]["retryAfter"] <= 601
    assert (await try_login(client, user.email.upper(), PASSWORD)).code == "TOO_MANY_ATTEMPTS"
    clock.travel(timedelta(minutes=9, seconds=50))
    assert (await try_login(client, user.email, PASSWORD)).code == "TOO_MANY_ATTEMPTS"
    clock.travel(timedelta(seconds=11))
    assert (await try_login(client, user.email, PASSWORD)).ok()["login"][
        "status"
    ] == "AUTHENTICATED"
    # 10 failures and one event for the lock window's three refusals.
    throttled = await AuditEvent.filter(action="LOGIN_FAILED", target_email=user.email_normalized)
    assert len(throttled) == 11


async def test_a_nonexistent_email_locks_alike(client: GraphQLClient) -> None:
    ghost = "ghost@nowhere.example"
    answers = [(await try_login(client, ghost, WRONG)).code for _ in range(11)]
    assert answers == ["INVALID_CREDENTIALS"] * 10 + ["TOO_MANY_ATTEMPTS"]
    domain = await make_domain()
    user = await make_user(domain)
    real = [(await try_login(client, user.email, WRONG)) for _ in range(11)]
    ghostly = await try_login(client, ghost, WRONG)
    assert real[-1].code == ghostly.code == "TOO_MANY_ATTEMPTS"
    assert real[-1].errors[0]["message"] == ghostly.errors[0]["message"]
    assert (
        real[0].errors[0]["message"]
        == (await try_login(client, "x" + ghost, WRONG)).errors[0]["message"]
    )


async def test_success_resets_the_count(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    for _ in range(2):
        for _ in range(9):
            assert (await try_login(client, user.email, WRONG)).code == "INVALID_CREDENTIALS"
        assert (await try_login(client, user.email, PASSWORD)).ok()
    assert (await try_login(client, user.email, WRONG)).code == "INVALID_CREDENTIALS"


async def test_lock_is_per_email(client: GraphQLClient) -> None:
    domain = await make_domain()
    victim = await make_user(domain)
    bystander = await make_user(domain)
    for _ in range(11):
        await try_login(client, victim.email, WRONG)
    assert (await try_login(client, bystander.email, PASSWORD)).ok()
