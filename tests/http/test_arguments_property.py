"""Random input into every argument of every query and mutation: never a 5xx, never an
INTERNAL_SERVER_ERROR (CONTRACT section 5).

The operations and their arguments are read from the schema itself, so a new operation or
argument is covered the day it is added. Each argument gets values of its own type (so the
resolvers and services run) mixed with hostile ones: NUL, lone surrogates, 90,000
characters, numbers of 5,000 digits, 2^31 and 2^63, floats for ints, lists of 1,000 items,
times that overflow, objects where scalars belong; as variables or as literals.

Hypothesis runs in a worker thread and sends each case through the ASGI app on the test's
event loop (as tests/http/test_fuzz.py does), so the run shares the test database on
SQLite and PostgreSQL. Derandomized with a bounded number of examples per operation: the
same cases every run, about 20-40 s per database.
"""

import asyncio
import functools
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_composite_type,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gql_portal.accounts.models import Role, User
from gql_portal.accounts.sessions import issue_session
from gql_portal.api.schema import build_schema
from gql_portal.errors import ErrorCode
from gql_portal.request_meta import RequestMeta
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient

ALLOWED_CODES = {code.value for code in ErrorCode} - {ErrorCode.INTERNAL_SERVER_ERROR.value}
SCHEMA = build_schema()._schema
OPERATIONS: list[tuple[str, str, GraphQLField]] = [
    (kind, name, field)
    for kind, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type))
    if root is not None
    for name, field in root.fields.items()
    if field.args
]
# Spliced into the JSON text after encoding: no JSON encoder writes an integer this long.
HUGE = "@@huge-number@@"
HUGE_DIGITS = "9" * 5000
_HUGE_JSON = json.dumps(HUGE)

HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "a" * 90_000,
    "a%" * 30_000,
    "_" * 5_000,
    "9" * 5_000,
    "2147483648",
    "-1",
    "0",
    "1e400",
    "\u202e\u2028\ufeff",
    "'; DROP TABLE users; --",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "6b3c1f4e-0000-4000-8000-000000000000",
    "WyJ1c2VyIiwiYVx1MDAwMCJd",  # a cursor ["user", "a\u0000"]
    "WyJhdWRpdCIsIjAwMDEtMDEtMDFUMDA6MDA6MDArMTQ6MDAiLDVd",  # an audit cursor in year 0
]
HOSTILE_NUMBERS = [HUGE, 2**31, -(2**31) - 1, 2**63, -1, 0, 1.5, -0.0, 1e308, 10**30]
TIMES = [
    "2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00",  # naive
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "1970-01-01T00:00:00+00:00",
    "not a time",
]


def _text() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(HOSTILE_TEXT),
        st.text(st.characters(codec=None, exclude_categories=()), max_size=30),
        st.from_regex(r"\A[a-z]{1,8}@[a-z]{1,8}\.example\Z"),
        st.from_regex(r"\A[0-9]{6}\Z"),
    )


def _anything() -> st.SearchStrategy[Any]:
    """A value of any JSON shape, for arguments of another type."""
    leaf = st.one_of(
        st.none(), st.booleans(), st.sampled_from(HOSTILE_NUMBERS), st.sampled_from(HOSTILE_TEXT)
    )
    return st.recursive(
        leaf,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=5,
    )


def _values(kind: GraphQLInputType, ids: list[str]) -> st.SearchStrategy[Any]:
    """Values of ``kind`` (mostly) and hostile ones of any type."""
    nullable = not isinstance(kind, GraphQLNonNull)
    inner = kind if nullable else kind.of_type
    typed: st.SearchStrategy[Any]
    if isinstance(inner, GraphQLList):
        item = _values(inner.of_type, ids)
        typed = st.one_of(
            st.lists(item, max_size=4),
            item.map(lambda value: [value] * 1000),
            item,  # a single value where a list is expected (coerced to a list of one)
        )
    elif isinstance(inner, GraphQLInputObjectType):
        fields = {name: _values(field.type, ids) for name, field in inner.fields.items()}
        typed = st.fixed_dictionaries({}, optional=fields)
    elif isinstance(inner, GraphQLEnumType):
        typed = st.sampled_from(list(inner.values)) | st.sampled_from(["NOBODY", "user", ""])
    elif isinstance(inner, GraphQLScalarType) and inner.name == "Int":
        typed = st.integers(-(2**31), 2**31 - 1) | st.sampled_from(HOSTILE_NUMBERS)
    elif isinstance(inner, GraphQLScalarType) and inner.name == "Boolean":
        typed = st.booleans()
    elif isinstance(inner, GraphQLScalarType) and inner.name == "ID":
        typed = st.sampled_from(ids) | st.sampled_from(HOSTILE_NUMBERS[1:6]) | _text()
    elif isinstance(inner, GraphQLScalarType) and inner.name == "DateTime":
        typed = st.sampled_from(TIMES) | _text()
    else:
        typed = _text()
    choices = [typed, typed, _anything()]
    if nullable:
        choices.append(st.none())
    return st.one_of(choices)


def _literal(value: Any, kind: GraphQLInputType) -> str:
    """``value`` written into the document; a wrong shape is written as it is."""
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    if value is None:
        return "null"
    if value == HUGE:
        return HUGE_DIGITS
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        item = inner.of_type if isinstance(inner, GraphQLList) else inner
        return "[" + ", ".join(_literal(v, item) for v in value) + "]"
    if isinstance(value, dict):
        fields = inner.fields if isinstance(inner, GraphQLInputObjectType) else {}
        # An unknown field is written too (validation refuses it); a key that is no name
        # cannot be written at all.
        written = (
            f"{key}: {_literal(v, fields[key].type if key in fields else inner)}"
            for key, v in value.items()
            if re.fullmatch(r"[_A-Za-z][_0-9A-Za-z]*", key)
        )
        return "{" + ", ".join(written) + "}"
    if isinstance(inner, GraphQLEnumType) and re.fullmatch(r"[_A-Za-z][_0-9A-Za-z]*", value):
        return str(value)
    # JSON's escapes are GraphQL's; a lone surrogate escape is a syntax error, as it should.
    return json.dumps(value)


def _request(kind: str, name: str, field: GraphQLField, values: dict[str, tuple[Any, bool]]) -> str:
    """The JSON body: each given argument as a variable or as a literal."""
    declared, passed, variables = [], [], {}
    for arg_name, (value, as_literal) in values.items():
        arg: GraphQLArgument = field.args[arg_name]
        if as_literal:
            passed.append(f"{arg_name}: {_literal(value, arg.type)}")
        else:
            declared.append(f"${arg_name}: {arg.type}")
            passed.append(f"{arg_name}: ${arg_name}")
            variables[arg_name] = value
    signature = f"({', '.join(declared)})" if declared else ""
    arguments = f"({', '.join(passed)})" if passed else ""
    selection = " { __typename }" if is_composite_type(get_named_type(field.type)) else ""
    document = f"{kind} Probe{signature} {{ {name}{arguments}{selection} }}"
    body = json.dumps({"query": document, "variables": variables})
    return body.replace(_HUGE_JSON, HUGE_DIGITS)


def _cases(field: GraphQLField, ids: list[str]) -> st.SearchStrategy[dict[str, tuple[Any, bool]]]:
    required = {}
    optional = {}
    for arg_name, arg in field.args.items():
        given_value = st.tuples(_values(arg.type, ids), st.booleans())
        if isinstance(arg.type, GraphQLNonNull):
            required[arg_name] = given_value
        else:
            optional[arg_name] = given_value
    return st.fixed_dictionaries(required, optional=optional)


# The catalogue every input position gets, whatever the generated cases find: each known
# way in which input broke a database or a conversion, by the position's type.
HOSTILE_BY_TYPE: dict[str, list[Any]] = {
    "String": ["\x00", "a\x00b", "\ud800", "a" * 90_000, "a%" * 30_000, "9" * 5000, ""],
    "ID": ["2147483648", "9" * 30, "-1", "0", "\x00", "\ud800", 2**63, HUGE],
    "Int": [HUGE, 2**31, -(2**31) - 1, 2**63, -1, 0, 1.5, 1e308, "10"],
    "Boolean": ["true", 1],
    "DateTime": [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "2026-01-01T00:00:00",
        "+99999-01-01T00:00:00Z",
        "\x00",
    ],
}
HOSTILE_ENUM = ["NOBODY", "\x00", 5]
HOSTILE_OBJECT = ["x", 5, [], {"unknown": 1}]


def _positions(
    kind: GraphQLInputType, path: tuple[str, ...]
) -> list[tuple[tuple[str, ...], GraphQLInputType]]:
    """Every place of an argument a value goes: the argument and each input field in it."""
    found = [(path, kind)]
    named = get_named_type(kind)
    if isinstance(named, GraphQLInputObjectType):
        for name, field in named.fields.items():
            found.extend(_positions(field.type, (*path, name)))
    return found


def _hostile(kind: GraphQLInputType, ids: list[str]) -> list[Any]:
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    values: list[Any] = [None] if inner is not kind else []
    if isinstance(inner, GraphQLList):
        items = _hostile(inner.of_type, ids)
        valid = _valid(inner.of_type, ids)
        return [*values, *([item] for item in items[:4]), [valid] * 1000, [], HUGE]
    if isinstance(inner, GraphQLInputObjectType):
        return [*values, *HOSTILE_OBJECT]
    if isinstance(inner, GraphQLEnumType):
        return [*values, *HOSTILE_ENUM]
    return [*values, *HOSTILE_BY_TYPE.get(getattr(inner, "name", ""), HOSTILE_BY_TYPE["String"])]


def _valid(kind: GraphQLInputType, ids: list[str]) -> Any:
    """A plain value of ``kind``: what the other arguments of a catalogue case hold."""
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    if isinstance(inner, GraphQLList):
        return [_valid(inner.of_type, ids)]
    if isinstance(inner, GraphQLInputObjectType):
        return {}
    if isinstance(inner, GraphQLEnumType):
        return next(iter(inner.values))
    name = getattr(inner, "name", "")
    return {"Int": 10, "Boolean": False, "ID": ids[-1], "DateTime": TIMES[0]}.get(name, "123456")


def _catalogue(field: GraphQLField, ids: list[str]) -> list[dict[str, tuple[Any, bool]]]:
    """One case per (input position, hostile value): the value at its place, required
    arguments plain, alternately as a variable and as a literal."""
    cases = []
    for arg_name, arg in field.args.items():
        for path, kind in _positions(arg.type, (arg_name,)):
            for value in _hostile(kind, ids):
                case = {
                    name: (_valid(other.type, ids), False)
                    for name, other in field.args.items()
                    if isinstance(other.type, GraphQLNonNull) and name != arg_name
                }
                placed = value
                for key in reversed(path[1:]):
                    placed = {key: placed}
                case[arg_name] = (placed, len(cases) % 2 == 1)
                cases.append(case)
    return cases


Send = Callable[[str], Awaitable[tuple[int, str, dict[str, Any]]]]


def _run(
    loop: asyncio.AbstractEventLoop, send: Send, ids: list[str], *, catalogue: bool, generated: int
) -> int:
    """Per operation: its catalogue (if asked), then ``generated`` cases; the number sent."""
    sent = 0
    for kind, name, field in OPERATIONS:
        reached: list[bool] = []

        def check(values: dict[str, tuple[Any, bool]]) -> None:
            nonlocal sent
            request = _request(kind, name, field, values)  # noqa: B023
            future = asyncio.run_coroutine_threadsafe(send(request), loop)
            status, content_type, body = future.result(timeout=60)
            sent += 1
            shown = request[:300]
            assert status < 500, (shown, body)
            assert content_type.startswith(("application/json", "application/graphql")), shown
            errors = body.get("errors") or []
            for error in errors:
                code = (error.get("extensions") or {}).get("code")
                assert code in ALLOWED_CODES, (shown, error)
            # The resolver ran (data or a field error), not only the request checks.
            reached.append(body.get("data") is not None or any(e.get("path") for e in errors))  # noqa: B023

        for case in _catalogue(field, ids) if catalogue else ():
            check(case)
        settings(
            max_examples=generated,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )(given(values=_cases(field, ids))(check))()
        assert any(reached), f"no case reached {name}'s resolver"
    return sent


async def _probe(client: GraphQLClient, *, pending: bool, catalogue: bool, generated: int) -> int:
    domain = await make_domain(two_factor=True)
    admin = await make_user(
        domain,
        roles=[Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR],
        two_factor_enabled=pending,
    )
    others = [await make_user(domain, two_factor_enabled=True) for _ in range(2)]
    ids = [str(user.id) for user in (admin, *others)]
    token = ""

    async def post(request: str) -> httpx.Response:
        return await client.http.post(
            "/graphql",
            content=request,
            headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        )

    async def send(request: str) -> tuple[int, str, dict[str, Any]]:
        # A case that logged out or reset the admin ends the session: the next case gets
        # a new one. Issued by the service, not by login: the run's own failed logins
        # must not lock it out.
        nonlocal token
        response = await post(request) if token else None
        if response is None or "UNAUTHENTICATED" in response.text:
            user = await User.get(id=admin.id)
            token = (await issue_session(user=user, meta=RequestMeta(), pending=pending)).token
            response = await post(request)
        return response.status_code, response.headers["content-type"], response.json()

    loop = asyncio.get_running_loop()
    run = functools.partial(_run, catalogue=catalogue, generated=generated)
    return await asyncio.to_thread(run, loop, send, ids)


async def test_every_argument_of_every_operation_as_an_admin(client: GraphQLClient) -> None:
    sent = await _probe(client, pending=False, catalogue=True, generated=8)
    assert sent > 20 * len(OPERATIONS)  # the catalogue ran: ~15 cases per input position


async def test_every_argument_of_every_operation_with_a_pending_token(
    client: GraphQLClient,
) -> None:
    # Mostly TWO_FACTOR_REQUIRED, but the code steps run, and every request's variables and
    # literals pass the same checks first.
    sent = await _probe(client, pending=True, catalogue=False, generated=12)
    assert sent > 8 * len(OPERATIONS)
