"""What /metrics counts is decided by the services, whatever a client selects."""

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client import REGISTRY

from gql_portal import clock
from gql_portal.accounts import throttle
from gql_portal.api.view import GraphQLView
from gql_portal.app import create_app
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.two_factor.helpers import enrolled_user, try_login

WRONG = "not-the-password-at-all"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def lockouts() -> float:
    return sample("gql_portal_lockouts_total", kind="password")


async def test_a_password_lock_is_counted_once_when_it_starts(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    before = lockouts()
    for _ in range(throttle.LOCK_AFTER_FAILURES - 1):
        assert (await try_login(client, user.email, WRONG)).code == "INVALID_CREDENTIALS"
    assert lockouts() == before
    assert (await try_login(client, user.email, WRONG)).code == "INVALID_CREDENTIALS"
    assert lockouts() == before + 1
    # Refusals while locked (also with the right password) start no new lock.
    for password in (WRONG, PASSWORD, WRONG):
        assert (await try_login(client, user.email, password)).code == "TOO_MANY_ATTEMPTS"
    assert lockouts() == before + 1
    # A lock that ran out and a new series of failures: a second lock.
    clock.travel(throttle.LOCK_DURATION + timedelta(seconds=1))
    for _ in range(throttle.LOCK_AFTER_FAILURES):
        await try_login(client, user.email, WRONG)
    assert lockouts() == before + 2
    # The attempt that would lock with the right password is a success: no lock.
    clock.travel(throttle.LOCK_DURATION + timedelta(seconds=1))
    for _ in range(throttle.LOCK_AFTER_FAILURES - 1):
        await try_login(client, user.email, WRONG)
    assert (await try_login(client, user.email, PASSWORD)).ok()
    assert lockouts() == before + 2
    # An unknown email is throttled (and locked) like a known one.
    for _ in range(throttle.LOCK_AFTER_FAILURES):
        await try_login(client, f"nobody@{domain.name}", WRONG)
    assert lockouts() == before + 3


@pytest.fixture
async def view_client(database: object) -> AsyncIterator[GraphQLClient]:
    """The same app with the fast path off: every operation goes through strawberry."""
    app = create_app(manage_database=False)
    for route in app.routes:
        endpoint = getattr(route, "endpoint", None)
        if isinstance(endpoint, GraphQLView):
            endpoint.fast = None
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


SELECTIONS = ["status", "token", "user { id }", "__typename"]
LOGIN_SELECTING = (
    "mutation($email: String!, $password: String!) {{"
    " signIn: login(email: $email, password: $password) {{ {selection} }} }}"
)


def logins(outcome: str) -> float:
    return sample("gql_portal_logins_total", outcome=outcome)


@pytest.mark.parametrize("selection", SELECTIONS)
@pytest.mark.parametrize("path", ["fast", "view"])
async def test_login_outcomes_do_not_depend_on_the_selection(
    client: GraphQLClient, view_client: GraphQLClient, path: str, selection: str
) -> None:
    http = client if path == "fast" else view_client
    domain = await make_domain(two_factor=True)
    plain = await make_user(domain)
    must_enroll = await make_user(domain, two_factor_enabled=True)
    enrolled, _ = await enrolled_user(client, domain)
    document = LOGIN_SELECTING.format(selection=selection)
    for user, status in [
        (plain, "AUTHENTICATED"),
        (must_enroll, "ENROLLMENT_REQUIRED"),
        (enrolled, "TOTP_REQUIRED"),
    ]:
        before = {outcome: logins(outcome) for outcome in (status, "OK")}
        result = await http.execute(document, {"email": user.email, "password": PASSWORD})
        assert result.ok()
        assert logins(status) == before[status] + 1, (selection, status)
        assert logins("OK") == before["OK"]
    failed = logins("INVALID_CREDENTIALS")
    result = await http.execute(document, {"email": plain.email, "password": WRONG})
    assert result.code == "INVALID_CREDENTIALS"
    assert logins("INVALID_CREDENTIALS") == failed + 1
