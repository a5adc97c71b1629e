"""schema.graphql is the code's, and holds every GraphQL name of /work/shared/CONTRACT.md
sections 1-8 (the contract file is outside the repository: its names are written out here)."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    get_named_type,
    get_nullable_type,
    is_list_type,
    print_ast,
)

from gql_portal.api.schema import schema_sdl
from gql_portal.errors import ErrorCode

ROOT = Path(__file__).resolve().parents[1]


def test_committed_schema_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema_sdl(), "run `make schema` and commit schema.graphql"


Operations = dict[str, tuple[str, dict[str, str]]]

# Section 4, "Mutations (argument and return types as written)": exact types.
MUTATIONS: Operations = {
    "login": ("LoginPayload!", {"email": "String!", "password": "String!"}),
    "logout": ("Boolean!", {}),
    "beginTotpEnrollment": ("TotpEnrollment!", {}),
    "confirmTotpEnrollment": ("LoginPayload!", {"code": "String!"}),
    "verifyTotp": ("LoginPayload!", {"code": "String!"}),
    "verifyRecoveryCode": ("LoginPayload!", {"code": "String!"}),
    "regenerateRecoveryCodes": ("[String!]!", {"code": "String!"}),
    "setDomainTwoFactor": ("PasswordSecurityRules!", {"enabled": "Boolean!"}),
    "updatePasswordSecurityRules": (
        "PasswordSecurityRules!",
        {"input": "PasswordSecurityRulesInput!"},
    ),
    "enableUserTwoFactor": ("User!", {"userId": "ID!"}),
    "disableUserTwoFactor": ("User!", {"userId": "ID!"}),
    "resetUserTwoFactor": ("User!", {"userId": "ID!"}),
    "startBulkTwoFactorEnablement": ("BulkJob!", {"filter": "BulkUserFilter", "dryRun": "Boolean"}),
    "cancelBulkJob": ("BulkJob!", {"id": "ID!"}),
}
# Queries and the subscription: arguments exact; a result may be stricter (never null)
# than written, which every client of the written type reads alike.
QUERIES: Operations = {
    "me": ("User", {}),
    "domain": ("Domain", {}),
    "users": ("UserConnection!", {"first": "Int", "after": "String", "filter": "UserFilter"}),
    "user": ("User", {"id": "ID!"}),
    "auditEvents": (
        "AuditEventConnection!",
        {"first": "Int", "after": "String", "filter": "AuditEventFilter"},
    ),
    "auditSummary": ("[AuditBucket!]!", {"filter": "AuditEventFilter", "bucket": "TimeBucket!"}),
    "bulkJob": ("BulkJob", {"id": "ID!"}),
    "bulkJobs": ("BulkJobConnection!", {"first": "Int", "after": "String"}),
}
SUBSCRIPTIONS: Operations = {"bulkJob": ("BulkJob", {"id": "ID!"})}

# Object types with their fields: a type where the contract names it (sections 1-4),
# None where it names only the field.
OBJECTS: dict[str, dict[str, str | None]] = {
    "User": {
        "id": "ID!",
        "email": None,
        "displayName": None,
        "roles": "[Role!]!",
        "domain": "Domain",
        "twoFactor": "UserTwoFactor!",
        "createdAt": None,
        "lastLoginAt": None,
    },
    "UserTwoFactor": {
        "state": "TwoFactorState",
        "available": None,
        "enabled": None,
        "enrolled": None,
        "enrolledAt": None,
        "enrollmentDeadline": None,
        "recoveryCodesRemaining": None,
        "lockedUntil": None,
    },
    "Domain": {
        "id": "ID!",
        "name": None,
        "passwordSecurityRules": "PasswordSecurityRules",
        "twoFactorStats": "TwoFactorStats",
    },
    "PasswordSecurityRules": {
        "twoFactorEnabled": None,
        "enrollmentGracePeriodHours": None,
        "minPasswordLength": None,
        "updatedAt": None,
        "updatedBy": "User",
    },
    "TwoFactorStats": {
        "users": None,
        "enabled": None,
        "enrolled": None,
        "pendingEnrollment": None,
        "lockedOut": None,
    },
    "LoginPayload": {
        "status": None,
        # Nullable once cookie sessions exist (section 9): only the name is checked here.
        "token": None,
        "expiresAt": None,
        "user": "User",
        "enrollmentDeadline": None,
        "recoveryCodes": None,
    },
    "TotpEnrollment": {"secret": None, "otpauthUri": None, "qrCodeSvg": None, "qrCodePng": None},
    "BulkJob": {
        name: None
        for name in (
            "id kind status filter total processed changed skipped failed progress"
            " requestedBy createdAt startedAt finishedAt error"
        ).split()
    },
    "AuditEvent": {
        "id": None,
        "occurredAt": None,
        "action": "AuditAction",
        "outcome": None,
        "actor": "User",
        "actorEmail": None,
        "target": "User",
        "targetEmail": None,
        "ip": None,
        "userAgent": None,
        "requestId": None,
        "jobId": "ID",
        "details": "JSON",
    },
    "AuditBucket": {},
    "PageInfo": {"hasNextPage": None, "endCursor": None},
}
CONNECTIONS = {"UserConnection": "User", "AuditEventConnection": "AuditEvent"}
CONNECTIONS["BulkJobConnection"] = "BulkJob"
INPUTS: dict[str, dict[str, str | None]] = {
    "AuditEventFilter": {
        "actions": "[AuditAction!]",
        "outcome": None,
        "actorId": None,
        "targetUserId": None,
        "jobId": None,
        "since": None,
        "until": None,
        "ip": None,
    },
    "UserFilter": {},
    "BulkUserFilter": {},
    "PasswordSecurityRulesInput": {},
}
ROLES = {"USER", "SECURITY_ADMIN", "SYSTEM_ADMIN", "AUDITOR"}
ENUMS = {
    "Role": ROLES,
    "TwoFactorState": {"NOT_AVAILABLE", "DISABLED", "PENDING_ENROLLMENT", "ENROLLED"},
    "TimeBucket": set(),
    "AuditAction": set(
        """LOGIN_SUCCEEDED LOGIN_FAILED LOGOUT DOMAIN_TWO_FACTOR_ENABLED
        DOMAIN_TWO_FACTOR_DISABLED PASSWORD_RULES_UPDATED USER_TWO_FACTOR_ENABLED
        USER_TWO_FACTOR_DISABLED USER_TWO_FACTOR_RESET TOTP_ENROLLMENT_STARTED TOTP_ENROLLED
        TOTP_VERIFIED TOTP_VERIFICATION_FAILED TOTP_LOCKED_OUT RECOVERY_CODE_USED
        RECOVERY_CODES_REGENERATED BULK_JOB_STARTED BULK_JOB_FINISHED BULK_JOB_CANCELLED
        ACCESS_DENIED""".split()
    ),
}
# Enums the contract gives by their values only: (type, field) -> values.
FIELD_ENUMS = {
    ("LoginPayload", "status"): {"AUTHENTICATED", "TOTP_REQUIRED", "ENROLLMENT_REQUIRED"},
    ("BulkJob", "status"): {"QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"},
    ("AuditEvent", "outcome"): {"SUCCESS", "FAILURE"},
}
SCALARS = {"ID", "JSON"}
# Section 5 (SERVICE_UNAVAILABLE: section 8): every extensions.code is one of these.
CODES = set(
    """UNAUTHENTICATED FORBIDDEN NOT_FOUND BAD_USER_INPUT TWO_FACTOR_NOT_AVAILABLE
    TWO_FACTOR_REQUIRED INVALID_CREDENTIALS INVALID_CODE TOO_MANY_ATTEMPTS JOB_CONFLICT
    QUEUE_UNAVAILABLE SERVICE_UNAVAILABLE INTERNAL_SERVER_ERROR""".split()
)


@pytest.fixture(scope="module")
def sdl_schema() -> GraphQLSchema:
    """The committed text, read as any client's tooling reads it."""
    return build_schema((ROOT / "schema.graphql").read_text())


def _type(schema: GraphQLSchema, name: str) -> GraphQLNamedType:
    found = schema.get_type(name)
    assert found is not None, f"type {name} is missing"
    return found


def _object(schema: GraphQLSchema, name: str) -> GraphQLObjectType:
    found = _type(schema, name)
    assert isinstance(found, GraphQLObjectType), name
    return found


def _field(schema: GraphQLSchema, type_name: str, name: str) -> GraphQLField:
    field = _object(schema, type_name).fields.get(name)
    assert field is not None, f"{type_name}.{name} is missing"
    return field


def _default(argument: GraphQLArgument) -> str | None:
    """The default as written in the SDL, or None."""
    node = argument.ast_node
    return None if node is None or node.default_value is None else print_ast(node.default_value)


def _check_arguments(
    where: str, arguments: dict[str, GraphQLArgument], written: dict[str, str]
) -> None:
    for name, type_ in written.items():
        assert name in arguments, f"{where}: argument {name} is missing"
        assert str(arguments[name].type) == type_, f"{where}({name}): {arguments[name].type}"
    for name, argument in arguments.items():
        # An argument beyond the contract's must not be required of a client written to it.
        if name not in written:
            required = isinstance(argument.type, GraphQLNonNull)
            assert not required or _default(argument) is not None, f"{where}({name})"


def _check_operations(
    schema: GraphQLSchema, root: str, operations: Operations, *, exact: bool
) -> None:
    for name, (result, arguments) in operations.items():
        field = _field(schema, root, name)
        actual = str(field.type)
        allowed = {result} if exact else {result, result + "!"}
        assert actual in allowed, f"{root}.{name}: {actual}, not {result}"
        _check_arguments(f"{root}.{name}", field.args, arguments)


def test_schema_has_the_contracts_operations(sdl_schema: GraphQLSchema) -> None:
    _check_operations(sdl_schema, "Mutation", MUTATIONS, exact=True)
    _check_operations(sdl_schema, "Query", QUERIES, exact=False)
    _check_operations(sdl_schema, "Subscription", SUBSCRIPTIONS, exact=False)
    dry_run = _field(sdl_schema, "Mutation", "startBulkTwoFactorEnablement").args["dryRun"]
    assert _default(dry_run) == "false"


def _check_fields(kind: str, fields: Mapping[str, Any], written: dict[str, str | None]) -> None:
    for name, type_ in written.items():
        assert name in fields, f"{kind}.{name} is missing"
        actual = fields[name].type
        if type_ is not None and type_[0] == "[":
            assert str(actual) in {type_, type_ + "!"}, f"{kind}.{name}: {actual}"
        elif type_ is not None:
            # Named types: nullability is the schema's to choose unless written with "!".
            expected = type_.rstrip("!")
            assert get_named_type(actual).name == expected, f"{kind}.{name}: {actual}"
            if type_.endswith("!"):
                assert isinstance(actual, GraphQLNonNull), f"{kind}.{name}: {actual}"


def test_schema_has_the_contracts_types(sdl_schema: GraphQLSchema) -> None:
    for name, fields in OBJECTS.items():
        _check_fields(name, _object(sdl_schema, name).fields, fields)
    for name, node in CONNECTIONS.items():
        connection = _object(sdl_schema, name)
        edges = connection.fields["edges"].type
        assert is_list_type(get_nullable_type(edges)), f"{name}.edges: {edges}"
        edge = _object(sdl_schema, get_named_type(edges).name)
        _check_fields(edge.name, edge.fields, {"cursor": None, "node": node})
        _check_fields(name, connection.fields, {"edges": None, "pageInfo": "PageInfo"})
    for name, fields in INPUTS.items():
        found = _type(sdl_schema, name)
        assert isinstance(found, GraphQLInputObjectType), name
        _check_fields(name, found.fields, fields)
    for name in SCALARS:
        _type(sdl_schema, name)


def test_schema_has_the_contracts_enums(sdl_schema: GraphQLSchema) -> None:
    for name, values in ENUMS.items():
        found = _type(sdl_schema, name)
        assert isinstance(found, GraphQLEnumType), name
        assert values <= set(found.values), (name, values - set(found.values))
    for (type_name, field), values in FIELD_ENUMS.items():
        enum = get_named_type(_field(sdl_schema, type_name, field).type)
        assert isinstance(enum, GraphQLEnumType), (type_name, field)
        assert values <= set(enum.values), (type_name, field, values - set(enum.values))


def test_error_codes_are_the_contracts() -> None:
    assert {code.value for code in ErrorCode} == CODES
