"""In production a bad request's message names no type, field, argument or enum of the
schema (introspection is off, so the messages must not hand it out instead); the code
stays BAD_USER_INPUT and the position stays. Development keeps graphql-core's words."""

import json
import re
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType

from gql_portal.accounts.models import Role
from gql_portal.api.schema import default_schema
from gql_portal.api.validation import production_message
from gql_portal.app import create_app
from tests.audit.helpers import signed_in
from tests.bulk.test_subscription import websocket
from tests.factories import make_domain
from tests.graphql import GraphQLClient, Result
from tests.http.support import client_for, production_settings

# (document, variables): each refused by validation or by variable coercion.
BAD_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("{ mee { id } }", {}),
    ("{ me { secretSauce } }", {}),
    ('{ users(filter: {serch: "a"}) { edges { cursor } } }', {}),
    ("{ user { id } }", {}),
    ("{ auditEvents(filter: {actions: [NOPE]}) { edges { cursor } } }", {}),
    ('{ auditEvents(first: "x") { edges { cursor } } }', {}),
    ("{ users(nope: 1) { edges { cursor } } }", {}),
    ("{ users(first: 1, first: 2) { edges { cursor } } }", {}),
    ("{ me }", {}),
    ("{ me { id { x } } }", {}),
    ("query($x: Int) { users(after: $x) { edges { cursor } } }", {}),
    ("query($x: User) { me { id: email @include(if: $x) } }", {}),
    ("query($x: Usr) { me { id: email @include(if: $x) } }", {}),
    ("{ me { ... on Domain { id } } }", {}),
    ("{ me { a: id a: email } }", {}),
    ("{ auditSummary(bucket: HOURS) { count } }", {}),
    ("fragment f on String { x } { me { ...f } }", {}),
    ('{ auditEvents(filter: {since: "garbage"}) { edges { cursor } } }', {}),
    ("{ twoFactorAdoption(days: null) { day } }", {}),
    ('mutation { login(email: 1, password: "x") { status } }', {}),
    ("query($first: Int) { users(first: $first) { edges { cursor } } }", {"first": "abc"}),
    ("query($first: Int) { users(first: $first) { edges { cursor } } }", {"first": 2**40}),
    ("query($id: ID!) { user(id: $id) { id } }", {}),
    ("query($id: ID!) { user(id: $id) { id } }", {"id": None}),
    (
        "query($f: AuditEventFilter) { auditEvents(filter: $f) { edges { cursor } } }",
        {"f": {"actions": ["NOPE"]}},
    ),
    (
        "query($f: AuditEventFilter) { auditEvents(filter: $f) { edges { cursor } } }",
        {"f": {"serch": 1}},
    ),
    (
        "query($f: AuditEventFilter) { auditEvents(filter: $f) { edges { cursor } } }",
        {"f": {"since": "garbage"}},
    ),
    (
        "query($b: TimeBucket!) { auditSummary(bucket: $b) { count } }",
        {"b": "HOURS"},
    ),
    (
        "mutation($i: PasswordSecurityRulesInput!) { updatePasswordSecurityRules(input: $i)"
        " { minPasswordLength } }",
        {"i": {"minPasswordLength": "many"}},
    ),
]


def _schema_names() -> tuple[set[str], set[str]]:
    """The schema's type names, and every other name it holds: fields, arguments, input
    fields, enum values."""
    types: set[str] = set()
    members: set[str] = set()
    for name, kind in default_schema()._schema.type_map.items():
        if name.startswith("__"):
            continue
        types.add(name)
        if isinstance(kind, GraphQLObjectType):
            for field_name, field in kind.fields.items():
                members.add(field_name)
                members.update(field.args)
        elif isinstance(kind, GraphQLInputObjectType):
            members.update(kind.fields)
        elif isinstance(kind, GraphQLEnumType):
            members.update(kind.values)
    return types, members


TYPE_NAMES, MEMBER_NAMES = _schema_names()
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


FRESH_ID = re.compile(r"[0-9a-f]{16}")


def _named(message: str) -> set[str]:
    """Type names anywhere ("Int cannot represent"), other names where quoted."""
    quoted = {word for part in re.findall(r"'([^']*)'", message) for word in _WORD.findall(part)}
    return (set(_WORD.findall(message)) & TYPE_NAMES) | (quoted & (MEMBER_NAMES | TYPE_NAMES))


def _assert_generic(result: Result) -> None:
    assert result.errors, result.body
    for error in result.errors:
        extensions = dict(error["extensions"])
        assert FRESH_ID.fullmatch(extensions.pop("requestId")), error
        assert extensions == {"code": "BAD_USER_INPUT"}, error
        assert not _named(error["message"]), error["message"]


def _positions(result: Result) -> list[object]:
    return [error.get("locations") for error in result.errors]


async def test_production_messages_name_nothing_of_the_schema(client: GraphQLClient) -> None:
    async with client_for(create_app(production_settings(), manage_database=False)) as production:
        for document, variables in BAD_REQUESTS:
            development = await client.execute(document, variables)
            assert any(_named(e["message"]) for e in development.errors), development.errors
            answer = await production.execute(document, variables)
            _assert_generic(answer)
            assert (answer.status, _positions(answer)) == (
                development.status,
                _positions(development),
            )
            if not document.startswith("mutation"):
                params = {"query": document, "variables": json.dumps(variables)}
                response = await production.http.get("/graphql", params=params)
                _assert_generic(Result(response.status_code, response.json()))


async def test_production_keeps_the_position_and_code_of_each_error() -> None:
    async with client_for(create_app(production_settings(), manage_database=False)) as client:
        typo = await client.execute("{\n  me { id }\n  mee { id }\n}")
        variable = await client.execute(
            "query($first: Int) { users(first: $first) { edges { cursor } } }", {"first": "x"}
        )
    for error in (*typo.errors, *variable.errors):
        assert FRESH_ID.fullmatch(error["extensions"].pop("requestId")), error
    assert typo.errors == [
        {
            "message": "This field cannot be queried here.",
            "locations": [{"line": 3, "column": 3}],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]
    assert variable.errors == [
        {
            "message": "A variable is invalid.",
            "locations": [{"line": 1, "column": 7}],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]


async def test_production_subscriptions_name_nothing_of_the_schema(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    _, token = await signed_in(client, domain, Role.SECURITY_ADMIN)
    app = create_app(production_settings(), manage_database=False)
    async with websocket(app) as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        assert (await ws.receive_json())["type"] == "connection_ack"
        for number, (query, variables) in enumerate(
            [
                ("subscription { bulkJob { id } }", {}),
                ("subscription { bulkJob(id: 1) { nope } }", {}),
                ("subscription($id: ID!) { bulkJob(id: $id) { id } }", {"id": None}),
            ]
        ):
            payload = {"query": query, "variables": variables}
            await ws.send_json({"id": str(number), "type": "subscribe", "payload": payload})
            answer = await ws.receive_json()
            assert answer["type"] in ("error", "next"), answer
            errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
            _assert_generic(Result(200, {"errors": errors}))


async def test_development_keeps_the_detail(client: GraphQLClient) -> None:
    typo = await client.execute("{ mee { id } }")
    assert (
        typo.errors[0]["message"] == "Cannot query field 'mee' on type 'Query'. Did you mean 'me'?"
    )
    variable = await client.execute(
        "query($first: Int) { users(first: $first) { edges { cursor } } }", {"first": "x"}
    )
    assert "Int cannot represent" in variable.errors[0]["message"]


@pytest.mark.parametrize(
    "message",
    [
        "Syntax Error: Expected Name, found <EOF>.",
        "Syntax Error: Document contains more than 2000 tokens. Parsing aborted.",
        "A document may hold only one credential check (login, verifyTotp); found 2",
        "'Deep' exceeds maximum operation depth of 12",
        "31 aliases found. Allowed: 30",
        "Variable '$x' is never used.",
        "Unknown directive '@nope'.",
    ],
)
def test_messages_that_name_nothing_hidden_are_kept(message: str) -> None:
    assert production_message(message) == message
