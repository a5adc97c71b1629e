"""CONTRACT section 2, row by row: who may do what, in which order the checks run."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from gql_portal import clock
from gql_portal.accounts.models import Domain, PasswordSecurityRules, Role, User
from gql_portal.audit.models import AuditEvent
from tests.factories import code_for, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.two_factor.helpers import (
    DISABLE_USER,
    ENABLE_USER,
    REGENERATE,
    RESET_USER,
    SET_SWITCH,
    STATS,
    UPDATE_RULES,
    USER,
    USERS,
    align_to_step_start,
    enrolled_user,
    login,
    pending_totp_token,
    verify,
)

SA, SYS, AUD, USR = Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR, Role.USER
ALL_ROLES = [SA, SYS, AUD, USR]


@dataclass(frozen=True)
class Row:
    name: str
    document: str
    allowed: frozenset[Role]
    switch_on: bool = True
    needs_target: bool = False
    variables: Callable[[User], dict[str, Any]] = lambda target: {}


ROWS = [
    Row(
        "switch on",
        SET_SWITCH,
        frozenset({SA}),
        switch_on=False,
        variables=lambda t: {"enabled": True},
    ),
    Row("switch off", SET_SWITCH, frozenset({SA, SYS}), variables=lambda t: {"enabled": False}),
    Row(
        "other rules",
        UPDATE_RULES,
        frozenset({SA}),
        variables=lambda t: {"input": {"enrollmentGracePeriodHours": 5, "minPasswordLength": 14}},
    ),
    Row(
        "enable user",
        ENABLE_USER,
        frozenset({SA}),
        needs_target=True,
        variables=lambda t: {"id": str(t.id)},
    ),
    Row(
        "disable user",
        DISABLE_USER,
        frozenset({SA, SYS}),
        needs_target=True,
        variables=lambda t: {"id": str(t.id)},
    ),
    Row(
        "reset user",
        RESET_USER,
        frozenset({SA, SYS}),
        needs_target=True,
        variables=lambda t: {"id": str(t.id)},
    ),
    Row("list users", USERS, frozenset({SA, SYS, AUD})),
    Row(
        "read a user",
        USER,
        frozenset({SA, SYS, AUD}),
        needs_target=True,
        variables=lambda t: {"id": str(t.id)},
    ),
    Row("2FA stats", STATS, frozenset({SA, SYS, AUD})),
    Row(
        "audit log",
        "{ auditEvents { edges { node { id } } } }",
        frozenset({SA, SYS, AUD}),
    ),
    Row(
        "start bulk",
        "mutation { startBulkTwoFactorEnablement(dryRun: true) { id } }",
        frozenset({SA}),
    ),
]


def _state(rules: PasswordSecurityRules, user: User | None) -> tuple[Any, ...]:
    return (
        rules.two_factor_enabled,
        rules.enrollment_grace_period_hours,
        rules.min_password_length,
        user.two_factor_enabled if user else None,
    )


async def _snapshot(domain: Domain, target: User | None) -> tuple[Any, ...]:
    rules = await PasswordSecurityRules.get(domain_id=domain.id)
    return _state(rules, await User.get(id=target.id) if target else None)


@pytest.mark.parametrize("role", ALL_ROLES, ids=[r.value for r in ALL_ROLES])
@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
async def test_permission_matrix(client: GraphQLClient, row: Row, role: Role) -> None:
    domain = await make_domain(two_factor=row.switch_on)
    actor = await make_user(domain, roles=[role])
    token = (await login(client, actor.email))["token"]
    target = await make_user(domain, two_factor_enabled=row.name != "enable user")
    before = await _snapshot(domain, target)
    result = await client.execute(row.document, row.variables(target), token=token)
    denied = await AuditEvent.filter(action="ACCESS_DENIED", actor_id=actor.id).all()
    if role in row.allowed:
        result.ok()
        assert denied == []
    else:
        assert result.code == "FORBIDDEN", result.body
        assert result.body["data"] is None or not any(result.body["data"].values())
        assert len(denied) == 1
        assert denied[0].outcome == "FAILURE" and denied[0].ip == "203.0.113.7"
        assert denied[0].request_id
        assert await _snapshot(domain, target) == before


TARGETED = [
    ("enableUserTwoFactor", ENABLE_USER, frozenset({SA})),
    ("disableUserTwoFactor", DISABLE_USER, frozenset({SA, SYS})),
    ("resetUserTwoFactor", RESET_USER, frozenset({SA, SYS})),
    ("user", USER, frozenset({SA, SYS, AUD})),
]


async def _other_domain_user() -> User:
    other = await make_domain(two_factor=True)
    return await make_user(other, two_factor_enabled=True)


@pytest.mark.parametrize(("field", "document", "allowed"), TARGETED, ids=[t[0] for t in TARGETED])
async def test_other_domain_ids_answer_like_nonexistent_ones(
    client: GraphQLClient, field: str, document: str, allowed: frozenset[Role]
) -> None:
    stranger = await _other_domain_user()
    domain = await make_domain(two_factor=True)
    for role in ALL_ROLES:
        actor = await make_user(domain, roles=[role])
        token = (await login(client, actor.email))["token"]
        answers = []
        for raw in (str(stranger.id), "987654", "0", "-1", "abc", "\uff11"):
            result = await client.execute(document, {"id": raw}, token=token)
            answers.append((result.code, result.errors[0]["message"], repr(result.body["data"])))
        expected = "NOT_FOUND" if role in allowed else "FORBIDDEN"
        assert {code for code, _, _ in answers} == {expected}, (role, answers)
        # Another domain's id and ids that exist nowhere are indistinguishable.
        assert len(set(answers[:3])) == 1, answers
        denied = await AuditEvent.filter(action="ACCESS_DENIED", actor_id=actor.id).count()
        assert denied == (0 if role in allowed else len(answers))
    untouched = await User.get(id=stranger.id)
    assert untouched.two_factor_enabled is True
    assert await AuditEvent.filter(target_id=stranger.id).count() == 0


@pytest.mark.parametrize(("field", "document", "allowed"), TARGETED, ids=[t[0] for t in TARGETED])
async def test_authentication_is_checked_first(
    client: GraphQLClient, field: str, document: str, allowed: frozenset[Role]
) -> None:
    stranger = await _other_domain_user()
    for raw in (str(stranger.id), "987654", "abc"):
        for token in (None, "gqlp_not-a-token", ""):
            result = await client.execute(document, {"id": raw}, token=token)
            assert result.code == "UNAUTHENTICATED", (token, result.body)
    assert await AuditEvent.filter(action="ACCESS_DENIED").count() == 0


async def test_lookup_comes_before_the_domain_rules(client: GraphQLClient) -> None:
    stranger = await _other_domain_user()
    domain = await make_domain(two_factor=False)
    mine = await make_user(domain)
    enabled = await make_user(domain, two_factor_enabled=True)
    admin = await make_user(domain, roles=[SA])
    token = (await login(client, admin.email))["token"]
    for raw in (str(stranger.id), "987654"):
        assert (await client.execute(ENABLE_USER, {"id": raw}, token=token)).code == "NOT_FOUND"
    for user in (mine, enabled):  # enabling, even a user already enabled
        result = await client.execute(ENABLE_USER, {"id": str(user.id)}, token=token)
        assert result.code == "TWO_FACTOR_NOT_AVAILABLE"
        assert result.errors[0]["message"] == "Two-Factor Authentication not available"
    assert (await User.get(id=mine.id)).two_factor_enabled is False
    # Role before everything: a SYSTEM_ADMIN may not enable, whatever the switch says.
    sys_admin = await make_user(domain, roles=[SYS])
    sys_token = (await login(client, sys_admin.email))["token"]
    assert (await client.execute(ENABLE_USER, {"id": str(mine.id)}, token=sys_token)).code == (
        "FORBIDDEN"
    )
    # Disable and reset are allowed while the switch is off.
    assert (await client.execute(DISABLE_USER, {"id": str(enabled.id)}, token=sys_token)).ok()
    assert (await client.execute(RESET_USER, {"id": str(mine.id)}, token=sys_token)).ok()


async def test_user_may_read_only_themselves(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    other = await make_user(domain)
    token = (await login(client, user.email))["token"]
    assert (await client.execute(USER, {"id": str(user.id)}, token=token)).ok()["user"][
        "id"
    ] == str(user.id)
    for raw in (str(other.id), "987654", "abc"):
        assert (await client.execute(USER, {"id": raw}, token=token)).code == "FORBIDDEN"


ForRole = Callable[[GraphQLClient, Domain, Role], Awaitable[None]]


@pytest.mark.parametrize("role", ALL_ROLES, ids=[r.value for r in ALL_ROLES])
async def test_every_role_does_its_own_enrollment_verification_and_codes(
    client: GraphQLClient, role: Role
) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain, roles=[role])
    pending = await pending_totp_token(client, user.email)
    verified = (await verify(client, pending, code_for(enrolled.secret, steps_ahead=1))).ok()
    token = verified["verifyTotp"]["token"]
    clock.travel(timedelta(seconds=30))
    codes = await client.execute(
        REGENERATE, {"code": code_for(enrolled.secret, steps_ahead=1)}, token=token
    )
    assert len(codes.ok()["regenerateRecoveryCodes"]) == 10
    assert await AuditEvent.filter(action="ACCESS_DENIED").count() == 0
