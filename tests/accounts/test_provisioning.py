"""User management over GraphQL (CONTRACT section 10): SYSTEM_ADMIN only, inside the
viewer's domain, every change audited with details.via, no-ops write nothing."""

from typing import Any

import pytest

from gql_portal.accounts.models import (
    LoginIpThrottle,
    LoginThrottle,
    PasswordSecurityRules,
    Role,
    Session,
    User,
)
from gql_portal.audit.models import AuditEvent
from gql_portal.metrics import REGISTRY
from tests.accounts.provisioning_helpers import (
    CREATE,
    DEACTIVATE,
    ME,
    REACTIVATE,
    UNLOCK,
    UPDATE,
    error_of,
    events,
    signed_in,
)
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient

NEW_PASSWORD = "another-long-password"


def _variables(name: str, user_id: str) -> dict[str, Any]:
    if name == "createUser":
        return {"input": {"email": "fresh@x.example", "roles": ["USER"]}}
    if name == "updateUser":
        return {"id": user_id, "input": {"displayName": "Changed", "roles": ["AUDITOR"]}}
    return {"id": user_id}


OPERATIONS = {
    "createUser": CREATE,
    "updateUser": UPDATE,
    "deactivateUser": DEACTIVATE,
    "reactivateUser": REACTIVATE,
    "unlockUserLogin": UNLOCK,
}


@pytest.mark.parametrize("name", list(OPERATIONS))
@pytest.mark.parametrize("role", [Role.SECURITY_ADMIN, Role.AUDITOR, Role.USER])
async def test_only_a_system_admin_manages_users(
    client: GraphQLClient, name: str, role: Role
) -> None:
    domain = await make_domain()
    target = await make_user(domain, display_name="Target")
    _, token = await signed_in(client, domain, role)
    before = await AuditEvent.filter(domain_id=domain.id).exclude(action="ACCESS_DENIED").count()
    result = await client.execute(OPERATIONS[name], _variables(name, str(target.id)), token=token)
    assert result.code == "FORBIDDEN"
    denied = await events(domain, "ACCESS_DENIED")
    assert [event.details for event in denied] == [{"operation": name}]
    # Nothing else happened: no user, no change, no other event.
    assert await User.filter(domain_id=domain.id).count() == 2
    assert (await User.get(id=target.id)).display_name == "Target"
    after = await AuditEvent.filter(domain_id=domain.id).exclude(action="ACCESS_DENIED").count()
    assert after == before
    # Even a malformed id is FORBIDDEN, not NOT_FOUND: the role comes first.
    if name != "createUser":
        malformed = await client.execute(OPERATIONS[name], _variables(name, "nope"), token=token)
        assert malformed.code == "FORBIDDEN"


@pytest.mark.parametrize("name", [name for name in OPERATIONS if name != "createUser"])
async def test_another_domains_user_is_not_found_like_a_missing_one(
    client: GraphQLClient, name: str
) -> None:
    domain, other = await make_domain(), await make_domain()
    stranger = await make_user(other, roles=[Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN])
    _, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    answers = []
    for user_id in (str(stranger.id), "999999", "0", "-1", "x"):
        result = await client.execute(OPERATIONS[name], _variables(name, user_id), token=token)
        answers.append((result.code, result.errors[0]["message"]))
    assert set(answers) == {("NOT_FOUND", answers[0][1])}
    assert (await User.get(id=stranger.id)).active
    assert (
        not await AuditEvent.filter(domain_id=other.id).exclude(action="LOGIN_SUCCEEDED").exists()
    )


async def test_create_user_normalises_validates_and_audits(client: GraphQLClient) -> None:
    domain = await make_domain()
    admin, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    created = await client.execute(
        CREATE,
        {
            "input": {
                "email": "  New.Person@X.Example ",
                "displayName": " New Person ",
                "roles": ["AUDITOR", "USER"],
                "password": NEW_PASSWORD,
            }
        },
        token=token,
    )
    user = created.ok()["createUser"]
    assert user["email"] == "New.Person@X.Example" and user["displayName"] == "New Person"
    assert user["roles"] == ["USER", "AUDITOR"] and user["active"] is True
    stored = await User.get(id=int(user["id"]))
    assert stored.email_normalized == "new.person@x.example" and stored.password_changed_at
    assert (await client.login("new.person@x.example", NEW_PASSWORD))["status"] == "AUTHENTICATED"
    [event] = await events(domain, "USER_CREATED")
    assert event.actor_id == admin.id and event.target_id == stored.id
    assert event.details == {"via": "graphql", "roles": ["USER", "AUDITOR"], "invited": False}
    assert NEW_PASSWORD not in str(event.details)

    refusals = {
        "email": {"email": "NEW.person@x.example"},
        "roles": {"email": "b@x.example", "roles": []},
        "password": {"email": "c@x.example", "password": "short"},
    }
    for field, refused in refusals.items():
        result = await client.execute(CREATE, {"input": refused}, token=token)
        assert error_of(result.body) | {"requestId": None} == {
            "code": "BAD_USER_INPUT",
            "field": field,
            "requestId": None,
            **({"reason": "taken"} if field == "email" else {}),
        }, field
    for bad in ("no-at-sign", "", "a@b", "x" * 330 + "@x.example"):
        result = await client.execute(CREATE, {"input": {"email": bad}}, token=token)
        assert error_of(result.body)["field"] == "email", bad
    assert await User.filter(domain_id=domain.id).count() == 2
    assert len(await events(domain, "USER_CREATED")) == 1


async def test_the_domains_minimum_password_length_applies(client: GraphQLClient) -> None:
    domain = await make_domain()
    _, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    await PasswordSecurityRules.filter(domain_id=domain.id).update(min_password_length=30)
    short = await client.execute(
        CREATE, {"input": {"email": "p@x.example", "password": NEW_PASSWORD}}, token=token
    )
    assert error_of(short.body)["field"] == "password"
    long = await client.execute(
        CREATE, {"input": {"email": "p@x.example", "password": "y" * 30}}, token=token
    )
    assert long.ok()["createUser"]["email"] == "p@x.example"


def _verifications() -> float:
    return REGISTRY.get_sample_value("gql_portal_password_verifications_total") or 0.0


async def _login_cost(client: GraphQLClient, email: str, password: str) -> tuple[str, float]:
    before = _verifications()
    result = await client.execute(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { status } }",
        {"e": email, "p": password},
    )
    return result.code, _verifications() - before


async def test_an_invited_user_cannot_log_in_with_any_password(client: GraphQLClient) -> None:
    domain = await make_domain()
    _, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    created = await client.execute(CREATE, {"input": {"email": "inv@x.example"}}, token=token)
    assert created.ok()["createUser"]["roles"] == ["USER"]
    stored = await User.get(email_normalized="inv@x.example")
    assert stored.password_hash == "" and stored.password_changed_at is None
    [event] = await events(domain, "USER_CREATED")
    assert event.details == {"via": "graphql", "roles": ["USER"], "invited": True}
    wrong = await _login_cost(client, f"nobody@{domain.name}", "whatever-password")
    # The text the timing equaliser's dummy hash was made from must not open the account.
    for password in ("timing equaliser for unknown accounts", "", "x"):
        if password:
            assert await _login_cost(client, "inv@x.example", password) == wrong


async def test_update_user_audits_what_changed_and_a_no_op_writes_nothing(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    admin, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    target = await make_user(domain, display_name="Old", roles=[Role.USER])
    changed = await client.execute(
        UPDATE,
        {"id": str(target.id), "input": {"displayName": "New", "roles": ["AUDITOR", "USER"]}},
        token=token,
    )
    assert changed.ok()["updateUser"]["roles"] == ["USER", "AUDITOR"]
    [event] = await events(domain, "USER_UPDATED")
    assert event.actor_id == admin.id and event.target_id == target.id
    assert event.details == {
        "via": "graphql",
        "displayName": True,
        "roles": {"from": ["USER"], "to": ["USER", "AUDITOR"]},
    }
    assert (await User.get(id=target.id)).updated_at is not None
    for same in (
        {"displayName": "New", "roles": ["USER", "AUDITOR"]},
        {"roles": ["AUDITOR", "USER"]},
        {"displayName": " New "},
        {},
    ):
        again = await client.execute(UPDATE, {"id": str(target.id), "input": same}, token=token)
        assert again.ok()["updateUser"]["displayName"] == "New"
    assert len(await events(domain, "USER_UPDATED")) == 1
    only_name = await client.execute(
        UPDATE, {"id": str(target.id), "input": {"displayName": "Newer"}}, token=token
    )
    only_name.ok()
    assert (await events(domain, "USER_UPDATED"))[-1].details == {
        "via": "graphql",
        "displayName": True,
    }


async def test_nobody_changes_their_own_roles(client: GraphQLClient) -> None:
    domain = await make_domain()
    admin, token = await signed_in(client, domain, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN)
    await make_user(domain, roles=[Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN])
    for roles in (["SYSTEM_ADMIN"], ["SYSTEM_ADMIN", "SECURITY_ADMIN", "AUDITOR"]):
        result = await client.execute(
            UPDATE, {"id": str(admin.id), "input": {"roles": roles}}, token=token
        )
        assert error_of(result.body)["field"] == "roles"
        assert error_of(result.body)["code"] == "BAD_USER_INPUT"
    # Their own display name, and their unchanged roles, are fine.
    same = await client.execute(
        UPDATE,
        {
            "id": str(admin.id),
            "input": {"displayName": "Me", "roles": ["SECURITY_ADMIN", "SYSTEM_ADMIN"]},
        },
        token=token,
    )
    assert same.ok()["updateUser"]["displayName"] == "Me"
    assert (await User.get(id=admin.id)).role_list == [Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN]


async def test_the_last_active_admins_of_each_kind_are_kept(client: GraphQLClient) -> None:
    domain = await make_domain()
    _, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    security = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    second_system = await make_user(domain, roles=[Role.SYSTEM_ADMIN])
    inactive_security = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    await User.filter(id=inactive_security.id).update(active=False)
    # The only active SECURITY_ADMIN: an inactive one does not count.
    for document, variables, field in (
        (UPDATE, {"id": str(security.id), "input": {"roles": ["USER"]}}, "roles"),
        (DEACTIVATE, {"id": str(security.id)}, "userId"),
    ):
        result = await client.execute(document, variables, token=token)
        assert error_of(result.body) | {"requestId": None} == {
            "code": "BAD_USER_INPUT",
            "field": field,
            "reason": "role_rule",
            "requestId": None,
        }
        assert "SECURITY_ADMIN" in result.errors[0]["message"]
    assert (await User.get(id=security.id)).active
    # The other SYSTEM_ADMIN may go: one stays (the viewer).
    gone = await client.execute(DEACTIVATE, {"id": str(second_system.id)}, token=token)
    assert gone.ok()["deactivateUser"]["active"] is False
    assert not await events(domain, "USER_UPDATED")
    # Reactivating the second SECURITY_ADMIN makes the first one removable.
    (await client.execute(REACTIVATE, {"id": str(inactive_security.id)}, token=token)).ok()
    moved = await client.execute(
        UPDATE, {"id": str(security.id), "input": {"roles": ["USER"]}}, token=token
    )
    assert moved.ok()["updateUser"]["roles"] == ["USER"]


async def test_a_system_admin_cannot_deactivate_themselves(client: GraphQLClient) -> None:
    domain = await make_domain()
    admin, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    await make_user(domain, roles=[Role.SYSTEM_ADMIN])
    result = await client.execute(DEACTIVATE, {"id": str(admin.id)}, token=token)
    assert error_of(result.body)["field"] == "userId"
    assert (await User.get(id=admin.id)).active
    assert (await client.execute(ME, token=token)).ok()["me"]["email"] == admin.email


async def test_deactivation_refuses_login_kills_sessions_and_keeps_two_factor(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    admin, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    target = await make_user(domain, two_factor_enabled=True)
    first = (await client.login(target.email, PASSWORD))["token"]
    second = (await client.login(target.email, PASSWORD))["token"]
    deactivated = await client.execute(DEACTIVATE, {"id": str(target.id)}, token=token)
    user = deactivated.ok()["deactivateUser"]
    assert user["active"] is False and user["deactivatedAt"] is not None
    for old in (first, second):
        assert (await client.execute(ME, token=old)).code == "UNAUTHENTICATED"
    assert not await Session.filter(user_id=target.id, revoked_at=None).exists()
    stored = await User.get(id=target.id)
    assert stored.two_factor_enabled and stored.two_factor_enabled_at is not None
    # Refused like a wrong password: same code, same number of hashes.
    wrong = await _login_cost(client, f"nobody@{domain.name}", PASSWORD)
    assert wrong[0] == "INVALID_CREDENTIALS"
    assert await _login_cost(client, target.email, PASSWORD) == wrong
    [event] = await events(domain, "USER_DEACTIVATED")
    assert event.actor_id == admin.id and event.target_id == target.id
    assert event.details == {"via": "graphql", "sessionsRevoked": 2}
    # A second deactivation is a no-op: no event.
    again = await client.execute(DEACTIVATE, {"id": str(target.id)}, token=token)
    assert again.ok()["deactivateUser"]["deactivatedAt"] == user["deactivatedAt"]
    assert len(await events(domain, "USER_DEACTIVATED")) == 1
    # Reactivation restores the login (not the old sessions).
    back = await client.execute(REACTIVATE, {"id": str(target.id)}, token=token)
    assert back.ok()["reactivateUser"] == user | {"active": True, "deactivatedAt": None}
    assert (await client.login(target.email, PASSWORD))["token"]
    assert (await client.execute(ME, token=first)).code == "UNAUTHENTICATED"
    [reactivated] = await events(domain, "USER_REACTIVATED")
    assert reactivated.details == {"via": "graphql"}
    (await client.execute(REACTIVATE, {"id": str(target.id)}, token=token)).ok()
    assert len(await events(domain, "USER_REACTIVATED")) == 1
    listed = await client.execute(
        "{ users(filter: {active: true}) { edges { node { email active } } } }", token=token
    )
    assert {"email": target.email, "active": True} in [
        edge["node"] for edge in listed.ok()["users"]["edges"]
    ]
    assert admin.active


async def test_a_session_of_an_inactive_user_is_refused_even_unrevoked(
    client: GraphQLClient,
) -> None:
    """The race the viewer resolution closes: a session read before the deactivation."""
    domain = await make_domain()
    user, token = await signed_in(client, domain, Role.USER)
    await User.filter(id=user.id).update(active=False)
    assert (await client.execute(ME, token=token)).code == "UNAUTHENTICATED"


async def test_unlock_lifts_a_real_lock_and_leaves_the_ip_throttle(client: GraphQLClient) -> None:
    domain = await make_domain()
    admin, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    target = await make_user(domain)
    for _ in range(10):
        code, _ = await _login_cost(client, target.email, "wrong-password-here")
        assert code == "INVALID_CREDENTIALS"
    locked, _ = await _login_cost(client, target.email, PASSWORD)
    assert locked == "TOO_MANY_ATTEMPTS"
    ip_row = await LoginIpThrottle.get(ip="203.0.113.7")
    shown = await client.execute(
        "query($id: ID!) { user(id: $id) { loginLockedUntil } }",
        {"id": str(target.id)},
        token=token,
    )
    assert shown.ok()["user"]["loginLockedUntil"] is not None
    unlocked = await client.execute(UNLOCK, {"id": str(target.id)}, token=token)
    assert unlocked.ok()["unlockUserLogin"]["loginLockedUntil"] is None
    assert not await LoginThrottle.exists()
    assert (await LoginIpThrottle.get(ip="203.0.113.7")).failures == ip_row.failures
    [event] = await events(domain, "USER_LOGIN_UNLOCKED")
    assert event.actor_id == admin.id and event.target_id == target.id
    assert event.details == {"via": "graphql", "failures": 10, "wasLocked": True}
    assert (await client.login(target.email, PASSWORD))["status"] == "AUTHENTICATED"
    # Nothing to lift: no event.
    (await client.execute(UNLOCK, {"id": str(target.id)}, token=token)).ok()
    assert len(await events(domain, "USER_LOGIN_UNLOCKED")) == 1


async def test_admin_fields_are_null_for_roles_that_may_not_list_users(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    user, token = await signed_in(client, domain, Role.USER)
    await User.filter(id=user.id).update(external_id="idp-1")
    for _ in range(10):
        await _login_cost(client, user.email, "wrong-password-here")
    me = await client.execute("{ me { active externalId loginLockedUntil } }", token=token)
    assert me.ok()["me"] == {"active": True, "externalId": None, "loginLockedUntil": None}
    _, auditor = await signed_in(client, domain, Role.AUDITOR)
    seen = await client.execute(
        "query($id: ID!) { user(id: $id) { externalId loginLockedUntil } }",
        {"id": str(user.id)},
        token=auditor,
    )
    shown = seen.ok()["user"]
    assert shown["externalId"] == "idp-1" and shown["loginLockedUntil"] is not None
