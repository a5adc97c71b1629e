"""Every role's own account (CONTRACT section 10): password and sessions."""

import pytest

from gql_portal.accounts.models import LoginThrottle, Role, Session, User
from gql_portal.accounts.passwords import verify_password
from tests.accounts.provisioning_helpers import ME, error_of, events, signed_in
from tests.factories import PASSWORD, make_domain
from tests.graphql import GraphQLClient
from tests.http.test_cookie_session import COOKIE, PORTAL, portal_login, post

CHANGE = (
    "mutation($current: String!, $new: String!) {"
    " changePassword(currentPassword: $current, newPassword: $new) }"
)
SESSIONS = "{ mySessions { id createdAt lastSeenAt expiresAt ip userAgent current } }"
REVOKE = "mutation($id: ID!) { revokeSession(id: $id) }"
EVERYWHERE = "mutation { logoutEverywhere }"
NEW_PASSWORD = "a-brand-new-password"


@pytest.mark.parametrize("role", list(Role))
async def test_change_password_revokes_the_other_sessions_only(
    client: GraphQLClient, role: Role
) -> None:
    domain = await make_domain()
    user, token = await signed_in(client, domain, role)
    other = (await client.login(user.email, PASSWORD))["token"]
    changed = await client.execute(CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}, token=token)
    assert changed.ok()["changePassword"] is True
    assert (await client.execute(ME, token=other)).code == "UNAUTHENTICATED"
    assert (await client.execute(ME, token=token)).ok()["me"]["email"] == user.email
    stored = await User.get(id=user.id)
    assert await verify_password(stored.password_hash, NEW_PASSWORD)
    assert stored.password_changed_at is not None
    old = await client.execute(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { status } }",
        {"e": user.email, "p": PASSWORD},
    )
    assert old.code == "INVALID_CREDENTIALS"
    assert (await client.login(user.email, NEW_PASSWORD))["status"] == "AUTHENTICATED"
    [event] = await events(domain, "PASSWORD_CHANGED")
    assert event.actor_id == user.id and event.target_id == user.id
    assert event.details == {"via": "graphql", "sessionsRevoked": 1}


async def test_a_wrong_current_password_counts_toward_the_login_lock(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    user, token = await signed_in(client, domain, Role.USER)
    for _ in range(10):
        wrong = await client.execute(
            CHANGE, {"current": "not-my-password", "new": NEW_PASSWORD}, token=token
        )
        assert error_of(wrong.body)["field"] == "currentPassword"
    assert (await LoginThrottle.get()).locked_until is not None
    # Locked now, like a login: even the right current password is refused.
    locked = await client.execute(CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}, token=token)
    assert locked.code == "TOO_MANY_ATTEMPTS"
    login = await client.execute(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { status } }",
        {"e": user.email, "p": PASSWORD},
    )
    assert login.code == "TOO_MANY_ATTEMPTS"
    failures = await events(domain, "PASSWORD_CHANGED")
    assert [(event.outcome, event.details) for event in failures] == [
        ("FAILURE", {"via": "graphql", "reason": "bad_credentials"})
    ] * 10
    assert await verify_password((await User.get(id=user.id)).password_hash, PASSWORD)


async def test_a_right_current_password_clears_earlier_failures(client: GraphQLClient) -> None:
    domain = await make_domain()
    _, token = await signed_in(client, domain, Role.USER)
    await client.execute(CHANGE, {"current": "not-my-password", "new": NEW_PASSWORD}, token=token)
    assert await LoginThrottle.exists()
    (await client.execute(CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}, token=token)).ok()
    assert not await LoginThrottle.exists()


async def test_the_new_password_follows_the_domains_minimum(client: GraphQLClient) -> None:
    domain = await make_domain()
    user, token = await signed_in(client, domain, Role.USER)
    short = await client.execute(CHANGE, {"current": PASSWORD, "new": "short"}, token=token)
    assert error_of(short.body)["field"] == "newPassword"
    # Refused before the current password is even checked: nothing counted.
    assert not await LoginThrottle.exists()
    assert await verify_password((await User.get(id=user.id)).password_hash, PASSWORD)


async def test_my_sessions_lists_the_live_ones_newest_first(client: GraphQLClient) -> None:
    domain = await make_domain()
    user, token = await signed_in(client, domain, Role.AUDITOR)
    second = (await client.login(user.email, PASSWORD))["token"]
    third = (await client.login(user.email, PASSWORD))["token"]
    await signed_in(client, domain, Role.USER)  # another user's session is not listed
    (await client.execute("mutation { logout }", token=third)).ok()
    listed = (await client.execute(SESSIONS, token=token)).ok()["mySessions"]
    ids = [int(item["id"]) for item in listed]
    own = await Session.filter(user_id=user.id, revoked_at=None).order_by("-id")
    assert ids == [session.id for session in own] and len(ids) == 2
    assert [item["current"] for item in listed] == [False, True]
    assert listed[0]["ip"] == "203.0.113.7"
    from_second = (await client.execute(SESSIONS, token=second)).ok()["mySessions"]
    assert [item["current"] for item in from_second] == [True, False]


async def test_revoke_session_is_for_own_sessions_only(client: GraphQLClient) -> None:
    domain = await make_domain()
    user, token = await signed_in(client, domain, Role.USER)
    other = (await client.login(user.email, PASSWORD))["token"]
    stranger, stranger_token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    stranger_session = await Session.get(user_id=stranger.id)
    for session_id in (str(stranger_session.id), "999999", "x"):
        refused = await client.execute(REVOKE, {"id": session_id}, token=token)
        assert refused.code == "NOT_FOUND", session_id
    assert (await client.execute(ME, token=stranger_token)).ok()["me"]
    other_session = await Session.filter(user_id=user.id).order_by("-id").first()
    assert other_session is not None
    revoked = await client.execute(REVOKE, {"id": str(other_session.id)}, token=token)
    assert revoked.ok()["revokeSession"] is True
    assert (await client.execute(ME, token=other)).code == "UNAUTHENTICATED"
    assert (await client.execute(ME, token=token)).ok()["me"]["email"] == user.email
    again = await client.execute(REVOKE, {"id": str(other_session.id)}, token=token)
    assert again.ok()["revokeSession"] is False
    [event] = await events(domain, "SESSION_REVOKED")
    assert event.actor_id == user.id and event.details == {"via": "graphql", "count": 1}


async def test_logout_everywhere_revokes_all_and_clears_the_cookie(client: GraphQLClient) -> None:
    domain = await make_domain()
    user, token = await signed_in(client, domain, Role.SECURITY_ADMIN)
    _, cookie = await portal_login(client, user.email)
    response = await post(client, EVERYWHERE, headers=PORTAL, cookie=cookie)
    assert response.json()["data"] == {"logoutEverywhere": True}
    cleared = [
        line for line in response.headers.get_list("set-cookie") if line.startswith(f"{COOKIE}=")
    ]
    assert len(cleared) == 1 and "Max-Age=0" in cleared[0]
    assert (await client.execute(ME, token=token)).code == "UNAUTHENTICATED"
    after = await post(client, ME, headers=PORTAL, cookie=cookie)
    assert after.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not await Session.filter(user_id=user.id, revoked_at=None).exists()
    [event] = await events(domain, "SESSION_REVOKED")
    assert event.details == {"via": "graphql", "count": 2, "everywhere": True}


async def test_own_account_operations_need_a_token(client: GraphQLClient) -> None:
    for document, variables in (
        (CHANGE, {"current": PASSWORD, "new": NEW_PASSWORD}),
        (SESSIONS, {}),
        (REVOKE, {"id": "1"}),
        (EVERYWHERE, {}),
    ):
        assert (await client.execute(document, variables)).code == "UNAUTHENTICATED"
