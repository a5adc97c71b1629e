"""The HTTP fast path (api/operation.py) and the leaf short path (api/executor.py) must
answer exactly what strawberry's own view and executor answer: same status, headers and
bytes, errors and nulls included, in development and in production.

Each comparison builds its two apps with the fast path explicitly on and off, so it holds
whichever way the suite runs (``make test`` runs it both ways)."""

import enum
import io
import json
import operator
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import strawberry
from graphql import GraphQLObjectType
from starlette.applications import Starlette
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from gql_portal.accounts.models import PasswordSecurityRules, Role, User
from gql_portal.api.executor import ObjectPlan, PortalExecutor, ShortPathExecutor
from gql_portal.api.schema import PortalSchema
from gql_portal.app import create_app
from gql_portal.audit.models import AuditEvent
from gql_portal.bulk.models import BulkJob
from gql_portal.clock import utcnow
from tests.factories import PASSWORD, make_domain, make_user
from tests.http.support import (
    client_for,
    enrolled_user_with_pending_token,
    graphql_view,
    production_settings,
    settings_with,
)

USERS = """query($first: Int, $filter: UserFilter) { users(first: $first, filter: $filter) {
  edges { cursor node { id email displayName roles domain { id name }
    twoFactor { state enabled enrolled enrolledAt recoveryCodesRemaining lockedUntil } } }
  pageInfo { hasNextPage endCursor } } }"""
GRAPHQL_RESPONSE = "application/graphql-response+json"
_COSTLY_PAGE = "users(first: 500) { edges { node { domain { id } twoFactor { state } } } }"
COSTLY = "{ " + " ".join(f"u{n}: {_COSTLY_PAGE}" for n in range(6)) + " }"
REQUEST_ID = "fast-path-compare"  # errors carry it: the same on both paths
# Each request gets its own Date; nothing else may differ.
VARYING_HEADERS = {"date"}

Answer = tuple[int, list[tuple[str, str]], bytes]


class Paths:
    """The same app twice: the fast path on, and off (strawberry's view and executor)."""

    def __init__(self, production: bool) -> None:
        settings = production_settings if production else settings_with
        self.fast_app = create_app(settings(fast_path=True), manage_database=False)
        self.slow_app = create_app(settings(fast_path=False), manage_database=False)
        fast, slow = graphql_view(self.fast_app), graphql_view(self.slow_app)
        # The comparison means something only when the two really differ.
        assert fast.fast is not None and fast.schema.execution_context_class is ShortPathExecutor
        assert slow.fast is None and slow.schema.execution_context_class is PortalExecutor

    async def answers(
        self, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[Answer, Answer]:
        sent = {"x-request-id": REQUEST_ID, **(headers or {})}
        return await _answer(self.fast_app, body, sent), await _answer(self.slow_app, body, sent)

    async def same_answer(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        """Both paths' answer, required to be the same; its JSON."""
        fast, slow = await self.answers(body, headers)
        assert fast == slow
        return json.loads(fast[2])

    async def login(self, email: str) -> str:
        body = {"query": LOGIN, "variables": {"email": email, "password": PASSWORD}}
        answer = await _answer(self.fast_app, body, {})
        token: str = json.loads(answer[2])["data"]["login"]["token"]
        return token


LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { token } }"""


async def _answer(app: Starlette, body: dict[str, Any], headers: dict[str, str]) -> Answer:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post("/graphql", json=body, headers=headers)
    kept = sorted((k, v) for k, v in response.headers.items() if k not in VARYING_HEADERS)
    return response.status_code, kept, response.content


_PATHS: dict[bool, Paths] = {}


@pytest.fixture(params=[False, True], ids=["development", "production"])
def paths(request: pytest.FixtureRequest, database: object) -> Paths:
    production: bool = request.param
    if production not in _PATHS:
        _PATHS[production] = Paths(production)
    return _PATHS[production]


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


CASES: list[tuple[str, dict[str, Any], bool, dict[str, str]]] = [
    ("me", {"query": "{ me { id email displayName roles } }"}, True, {}),
    ("me, no token", {"query": "{ me { id } }"}, False, {}),
    ("users page", {"query": USERS, "variables": {"first": 10}}, True, {}),
    (
        "users filtered by role",
        {"query": USERS, "variables": {"filter": {"roles": ["SECURITY_ADMIN"]}}},
        True,
        {},
    ),
    ("bad variable", {"query": USERS, "variables": {"first": "ten"}}, True, {}),
    (
        "bad variable, graphql-response+json",
        {"query": USERS, "variables": {"first": "ten"}},
        True,
        {"accept": GRAPHQL_RESPONSE},
    ),
    (
        "bad enum variable",
        {"query": USERS, "variables": {"filter": {"roles": ["NOBODY"]}}},
        True,
        {},
    ),
    ("unknown user", {"query": 'query { user(id: "987654321") { id } }'}, True, {}),
    (
        "malformed code",
        {"query": 'mutation { verifyTotp(code: "12") { status } }'},
        True,
        {"accept": GRAPHQL_RESPONSE},
    ),
    (
        "named operation",
        {
            "query": "query A { me { id } } query B { me { email } }",
            "operationName": "B",
        },
        True,
        {},
    ),
    ("typename and alias", {"query": "{ who: me { __typename id } }"}, True, {}),
    ("over the cost limit", {"query": COSTLY}, True, {}),
]


@pytest.mark.parametrize(("name", "body", "signed_in", "headers"), CASES, ids=[c[0] for c in CASES])
async def test_fast_path_answers_like_strawberrys_view(
    paths: Paths, name: str, body: dict[str, Any], signed_in: bool, headers: dict[str, str]
) -> None:
    domain = await make_domain(two_factor=True)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN], two_factor_enabled=False)
    await make_user(domain, roles=[Role.USER], two_factor_enabled=True)
    token = await paths.login(admin.email)
    sent = headers | (_bearer(token) if signed_in else {})
    fast, slow = await paths.answers(body, sent)
    assert fast == slow
    # The cases above are real answers, not all alike: data, field errors, request errors.
    assert fast[0] in (200, 400)


async def test_a_pending_token_is_answered_alike(paths: Paths) -> None:
    async with client_for(paths.fast_app) as client:
        _user, _secret, pending = await enrolled_user_with_pending_token(client)
    me = await paths.same_answer(
        {"query": "{ me { id email twoFactor { state enrolled enrolledAt } } }"}, _bearer(pending)
    )
    assert me["data"]["me"]["twoFactor"]["state"] == "ENROLLED"
    for query in (
        "{ users { edges { cursor } } }",
        "mutation { setDomainTwoFactor(enabled: false) { twoFactorEnabled } }",
    ):
        refused = await paths.same_answer({"query": query}, _bearer(pending))
        assert [e["extensions"]["code"] for e in refused["errors"]] == ["TWO_FACTOR_REQUIRED"]


def _error_lines(log_lines: io.StringIO) -> list[tuple[Any, ...]]:
    """The ERROR lines written since the last call, without the stack's frames (the two
    paths call the resolver from different places): logger, message, request id and the
    exception itself."""
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    log_lines.seek(0)
    log_lines.truncate()
    return [
        (line["logger"], line["message"], line["request_id"], line["exception"].splitlines()[-1])
        for line in lines
        if line["level"] == "ERROR"
    ]


async def test_an_internal_error_is_answered_and_logged_alike(
    paths: Paths, log_lines: io.StringIO
) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    token = await paths.login(user.email)
    await User.filter(id=user.id).update(roles=",WIZARD,")  # a row no enum can represent
    body = {"query": "{ me { id roles } }"}
    sent = {"x-request-id": REQUEST_ID, **_bearer(token)}
    _error_lines(log_lines)
    fast_answer = await _answer(paths.fast_app, body, sent)
    fast_log = _error_lines(log_lines)
    slow_answer = await _answer(paths.slow_app, body, sent)
    slow_log = _error_lines(log_lines)
    assert fast_answer == slow_answer
    assert json.loads(fast_answer[2])["errors"][0]["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": REQUEST_ID,
    }
    assert fast_log == slow_log
    assert len(fast_log) == 1 and fast_log[0][:3] == (
        "gql_portal.errors",
        f"unexpected error in me (request {REQUEST_ID})",
        REQUEST_ID,
    )


RULES = """mutation($input: PasswordSecurityRulesInput!) {
  updatePasswordSecurityRules(input: $input) {
    twoFactorEnabled enrollmentGracePeriodHours minPasswordLength auditRetentionDays
    updatedBy { email } } }"""


async def test_a_write_is_answered_alike(paths: Paths) -> None:
    domain = await make_domain(two_factor=True)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    token = await paths.login(admin.email)
    body = {"query": RULES, "variables": {"input": {"minPasswordLength": 14}}}
    sent = {"x-request-id": REQUEST_ID, **_bearer(token)}
    fast = await _answer(paths.fast_app, body, sent)
    # The same change again from the same state: the rule back as it was.
    await PasswordSecurityRules.filter(domain_id=domain.id).update(min_password_length=12)
    slow = await _answer(paths.slow_app, body, sent)
    assert fast == slow
    written = json.loads(fast[2])["data"]["updatePasswordSecurityRules"]
    assert written["minPasswordLength"] == 14 and written["updatedBy"] == {"email": admin.email}
    # Both paths wrote, each with its audit row.
    events = await AuditEvent.filter(request_id=REQUEST_ID).values_list("action", flat=True)
    assert sorted(events) == ["PASSWORD_RULES_UPDATED"] * 2


LEAVES_QUERY = """{
  me { id twoFactor { enabled enrolled enrolledAt lockedUntil } }
  bulkJobs { edges { node { id dryRun total processed progress cancelRequested
    createdAt startedAt finishedAt } } }
  auditEvents(first: 5) { edges { node { id occurredAt action details requestId } } } }"""


async def test_every_kind_of_leaf_is_answered_alike(paths: Paths) -> None:
    domain = await make_domain(two_factor=True)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    token = await paths.login(admin.email)
    now = utcnow()
    await BulkJob.create(
        domain_id=domain.id,
        status="CANCELLED",
        total=3,
        processed=2,
        changed=2,
        created_at=now - timedelta(minutes=2),
        started_at=now - timedelta(minutes=1),
        finished_at=now,
    )
    body = {"query": RULES, "variables": {"input": {"auditRetentionDays": 400}}}
    await paths.same_answer(body, _bearer(token))  # audit events with details
    data = (await paths.same_answer({"query": LEAVES_QUERY}, _bearer(token)))["data"]
    job = data["bulkJobs"]["edges"][0]["node"]
    assert job["progress"] == pytest.approx(2 / 3) and job["cancelRequested"] is False
    assert job["finishedAt"].startswith(str(now.year)) and isinstance(job["id"], str)
    details = [edge["node"]["details"] for edge in data["auditEvents"]["edges"]]
    assert any(isinstance(value, dict) and value for value in details), details


async def test_valid_documents_skip_strawberrys_execute(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str | None] = []
    original = PortalSchema.execute

    async def counted(self: PortalSchema, query: str | None, *args: Any, **kwargs: Any) -> Any:
        calls.append(query)
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(PortalSchema, "execute", counted)
    domain = await make_domain()
    user = await make_user(domain)
    async with client_for(paths.fast_app) as client:
        token = (await client.login(user.email, PASSWORD))["token"]
        assert len(calls) == 0  # the login mutation took the fast path too
        me = (await client.execute("{ me { email } }", token=token)).ok()["me"]
        assert me == {"email": user.email} and calls == []
        # A document that does not parse is strawberry's to answer, with the contract code.
        broken = await client.execute("{ me { email ", token=token)
        assert calls == ["{ me { email "]
        assert broken.body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # With the fast path off, strawberry answers everything.
    async with client_for(paths.slow_app) as client:
        assert (await client.execute("{ me { email } }", token=token)).ok()["me"] == me
        assert calls[-1] == "{ me { email } }"


# --- the leaf short path, on a schema of its own ------------------------------------------


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class NotAColour(enum.Enum):
    GREEN = "green"


@strawberry.type
class Friend:
    name: str


@strawberry.type
class Thing:
    name: str
    nickname: str | None
    required: str
    colour: Colour
    colours: list[Colour]
    maybe_colours: list[Colour] | None
    count: int
    friend: Friend | None
    best: Friend


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing | None]:
        broken: Any = None
        ok = Friend(name="pal")
        rows: list[tuple[Any, ...]] = [
            ("a", None, "x", Colour.RED, [Colour.RED, Colour.BLUE], None, 1, ok, ok),
            ("b", "bee", broken, Colour.BLUE, [], [Colour.BLUE], 2, ok, ok),
            ("c", None, "z", NotAColour.GREEN, [Colour.RED], None, 3, ok, ok),
            ("d", None, "w", Colour.RED, [broken], None, 4, ok, ok),
            ("e", None, "v", Colour.RED, [Colour.RED], [broken], "many", ok, ok),
            ("f", None, "u", Colour.RED, [], None, 6, None, ok),
            ("g", None, "t", Colour.RED, [], None, 7, Friend(name=broken), ok),
            ("h", None, "s", Colour.RED, [], None, 8, ok, None),
            ("i", None, "r", Colour.RED, [], None, 9, ok, Friend(name=broken)),
        ]
        names = (
            "name",
            "nickname",
            "required",
            "colour",
            "colours",
            "maybe_colours",
            "count",
            "friend",
            "best",
        )
        return [Thing(**dict(zip(names, row, strict=True))) for row in rows]


LEAVES = """{ things { name nickname required colour colours maybeColours count
  alias: name __typename friend { name } best { name } } }"""


async def test_leaf_short_path_matches_graphql_core() -> None:
    plain = strawberry.Schema(query=Query)
    ours = strawberry.Schema(query=Query, execution_context_class=ShortPathExecutor)
    expected = await plain.execute(LEAVES)
    result = await ours.execute(LEAVES)
    # The short paths really ran: executing left their plans on the fields (the plain
    # executor never builds them).
    thing = ours._schema.type_map["Thing"]
    assert isinstance(thing, GraphQLObjectType)
    for name, attribute in [
        ("name", "_gql_portal_leaf_plan"),
        ("colours", "_gql_portal_leaf_plan"),
        ("friend", "_gql_portal_object_plan"),
    ]:
        plan = getattr(thing.fields[name], attribute, None)
        assert callable(plan) or isinstance(plan, ObjectPlan), name
    assert result.data == expected.data
    assert [e.formatted for e in result.errors or []] == [
        e.formatted for e in expected.errors or []
    ]
    # Every kind of failure showed up, each in its own row: a null non-null leaf, a bad
    # enum, a null in a list, a value that is not an Int, a non-null object that is null,
    # and errors below objects (a nullable one becomes null, a non-null one propagates).
    paths = [error.path for error in expected.errors or []]
    assert paths == [
        ["things", 1, "required"],
        ["things", 2, "colour"],
        ["things", 3, "colours", 0],
        ["things", 4, "maybeColours", 0],
        ["things", 4, "count"],
        ["things", 6, "friend", "name"],
        ["things", 7, "best"],
        ["things", 8, "best", "name"],
    ]
    assert expected.data is not None
    things = expected.data["things"]
    assert things[0]["nickname"] is None and things[0]["best"] == {"name": "pal"}
    assert things[5]["friend"] is None and things[6]["friend"] is None
    assert things[1:5] == [None] * 4 and things[7:] == [None, None]


class Shout(SchemaExtension):
    """A middleware: every string a resolver returns, upper-cased."""

    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, **kwargs: Any) -> Any:
        value = _next(root, info, **kwargs)
        return value.upper() if isinstance(value, str) else value


async def test_a_middleware_wraps_every_field_under_the_short_path() -> None:
    plain = strawberry.Schema(query=Query, extensions=[Shout])
    ours = strawberry.Schema(
        query=Query, extensions=[Shout], execution_context_class=ShortPathExecutor
    )
    query = "{ things { name friend { name } } }"
    expected, result = await plain.execute(query), await ours.execute(query)
    assert expected.data is not None and expected.data["things"][0]["name"] == "A"
    assert result.data == expected.data


class Row(dict[str, Any]):
    """A source that answers an attribute and a key differently."""

    name = "the attribute"


@strawberry.type
class Named:
    name: str


@strawberry.type
class RowQuery:
    @strawberry.field
    def rows(self) -> list[Named]:
        return [Row(name="the key")]  # type: ignore[list-item]


async def test_a_configured_default_resolver_is_the_one_that_reads() -> None:
    config = StrawberryConfig(default_resolver=operator.getitem)
    plain = strawberry.Schema(query=RowQuery, config=config)
    ours = strawberry.Schema(
        query=RowQuery, config=config, execution_context_class=ShortPathExecutor
    )
    expected, result = (
        await plain.execute("{ rows { name } }"),
        await ours.execute("{ rows { name } }"),
    )
    assert expected.data == {"rows": [{"name": "the key"}]}
    assert result.data == expected.data and result.errors is None
