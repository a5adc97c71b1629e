"""A pending token reaches only the six second-factor operations, for ten minutes (the two
link operations are open to any token: they ignore it)."""

from datetime import timedelta

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
    is_composite_type,
)
from graphql.pyutils import Undefined

from gql_portal import clock
from gql_portal.accounts.models import Role
from gql_portal.api.schema import default_schema
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient
from tests.two_factor.helpers import (
    BEGIN,
    LOGOUT,
    ME,
    admin_token,
    enrolled_user,
    login,
    me,
    pending_totp_token,
)

ALL_ROLES = [Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR, Role.USER]
ALLOWED = {
    "me",
    "beginTotpEnrollment",
    "confirmTotpEnrollment",
    "verifyTotp",
    "verifyRecoveryCode",
    "logout",
    # The link or the email is the credential: the request's token plays no part (a
    # browser may hold a pending session cookie when it opens a mailed link).
    "passwordLink",
    "requestPasswordReset",
    "setPassword",
}
SCALAR_VALUES = {
    "ID": '"1"',
    "String": '"x"',
    "Int": "1",
    "Float": "1.0",
    "Boolean": "true",
    "DateTime": '"2030-01-01T00:00:00+00:00"',
    "UUID": '"00000000-0000-0000-0000-000000000001"',
}


def _literal(type_: GraphQLInputType) -> str:
    if isinstance(type_, GraphQLNonNull):
        return _literal(type_.of_type)
    if isinstance(type_, GraphQLList):
        return f"[{_literal(type_.of_type)}]"
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        required = [
            f"{name}: {_literal(field.type)}"
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        ]
        return "{" + ", ".join(required) + "}"
    return SCALAR_VALUES.get(type_.name, '"x"')


def _call(name: str, field: GraphQLField, alias: str = "") -> str:
    args = [
        f"{arg_name}: {_literal(arg.type)}"
        for arg_name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull)
    ]
    arguments = f"({', '.join(args)})" if args else ""
    selection = " { __typename }" if is_composite_type(get_named_type(field.type)) else ""
    return f"{alias + ': ' if alias else ''}{name}{arguments}{selection}"


def _root_fields() -> list[tuple[str, str, GraphQLField]]:
    graphql_schema = default_schema()._schema
    roots: list[tuple[str, GraphQLObjectType | None]] = [
        ("query", graphql_schema.query_type),
        ("mutation", graphql_schema.mutation_type),
    ]
    return [
        (operation, name, field)
        for operation, root in roots
        if root is not None
        for name, field in root.fields.items()
        if name not in ALLOWED
    ]


ROOT_FIELDS = _root_fields()


def test_the_enumeration_sees_the_known_fields() -> None:
    names = {name for _, name, _ in ROOT_FIELDS}
    assert {
        "users",
        "user",
        "domain",
        "login",
        "setDomainTwoFactor",
        "updatePasswordSecurityRules",
        "enableUserTwoFactor",
        "disableUserTwoFactor",
        "resetUserTwoFactor",
        "regenerateRecoveryCodes",
        "createUser",
        "updateUser",
        "deactivateUser",
        "reactivateUser",
        "unlockUserLogin",
        "changePassword",
        "revokeSession",
        "logoutEverywhere",
        "mySessions",
    } <= names
    assert not names & ALLOWED


async def _pending_tokens(client: GraphQLClient) -> dict[str, str]:
    """One token per way of being pending: issued ENROLLMENT_REQUIRED, TOTP_REQUIRED, gated."""
    domain = await make_domain(two_factor=True)
    fresh = await make_user(domain, roles=[Role.AUDITOR], two_factor_enabled=True)
    enrolling = (await login(client, fresh.email))["token"]
    enrolled, _ = await enrolled_user(client, domain, roles=ALL_ROLES)
    verifying = await pending_totp_token(client, enrolled.email)
    gated_user = await make_user(domain, roles=ALL_ROLES)
    gated = (await login(client, gated_user.email))["token"]
    _, admin = await admin_token(client, domain)
    enabled = await client.execute(
        "mutation($id: ID!) { enableUserTwoFactor(userId: $id) { id } }",
        {"id": str(gated_user.id)},
        token=admin,
    )
    enabled.ok()
    return {"enrollment": enrolling, "totp": verifying, "gated": gated}


@pytest.mark.parametrize(
    ("operation", "name", "field"), ROOT_FIELDS, ids=[n for _, n, _ in ROOT_FIELDS]
)
async def test_every_other_root_field_answers_two_factor_required(
    client: GraphQLClient, operation: str, name: str, field: GraphQLField
) -> None:
    tokens = await _pending_tokens(client)
    for kind, token in tokens.items():
        result = await client.execute(f"{operation} {{ {_call(name, field)} }}", token=token)
        assert result.codes == ["TWO_FACTOR_REQUIRED"], (kind, result.body)
        aliased = await client.execute(f"{operation} {{ {_call(name, field, 'a')} }}", token=token)
        assert aliased.codes == ["TWO_FACTOR_REQUIRED"], (kind, aliased.body)
        twice = await client.execute(
            f"{operation} {{ {_call(name, field, 'a')} {_call(name, field, 'b')} }}", token=token
        )
        # A non-null root field's error nulls the whole answer, so one error may hide the
        # other; validation may refuse the document outright. Either way nothing runs.
        assert twice.codes, (kind, twice.body)
        assert set(twice.codes) <= {"TWO_FACTOR_REQUIRED", "BAD_USER_INPUT"}, (kind, twice.body)
        data = twice.body.get("data") or {}
        assert not data.get("a") and not data.get("b"), twice.body
        assert (await me(client, token)).ok()["me"] is not None, kind


async def test_pending_token_may_mix_me_but_nothing_else(client: GraphQLClient) -> None:
    tokens = await _pending_tokens(client)
    for token in tokens.values():
        result = await client.execute(
            "{ me { id } alias: users { edges { node { id } } } d: domain { id } }", token=token
        )
        assert result.codes and set(result.codes) == {"TWO_FACTOR_REQUIRED"}, result.body
        nested = await client.execute("{ me { domain { twoFactorStats { users } } } }", token=token)
        assert "TWO_FACTOR_REQUIRED" in nested.codes or "FORBIDDEN" in nested.codes


async def test_the_allowed_six_work_with_a_pending_token(client: GraphQLClient) -> None:
    tokens = await _pending_tokens(client)
    assert (await client.execute(ME, token=tokens["enrollment"])).ok()["me"]
    assert (await client.execute(BEGIN, token=tokens["enrollment"])).ok()
    assert (await client.execute(BEGIN, token=tokens["gated"])).ok()
    assert (await client.execute(LOGOUT, token=tokens["totp"])).ok()["logout"] is True
    assert (await me(client, tokens["totp"])).code == "UNAUTHENTICATED"


async def test_pending_token_expires_after_ten_minutes(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    payload = await login(client, user.email)
    assert payload["status"] == "ENROLLMENT_REQUIRED"
    clock.travel(timedelta(minutes=9, seconds=50))
    assert (await me(client, payload["token"])).ok()["me"]["id"] == str(user.id)
    clock.travel(timedelta(seconds=11))
    assert (await me(client, payload["token"])).code == "UNAUTHENTICATED"
    assert (await client.execute(BEGIN, token=payload["token"])).code == "UNAUTHENTICATED"


async def test_totp_pending_token_expires_even_when_used(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user, _ = await enrolled_user(client, domain)
    token = await pending_totp_token(client, user.email)
    for _ in range(3):
        clock.travel(timedelta(minutes=3))
        assert (await me(client, token)).ok()
    clock.travel(timedelta(seconds=61))
    assert (await me(client, token)).code == "UNAUTHENTICATED"
