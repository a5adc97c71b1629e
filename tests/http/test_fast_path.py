"""The HTTP fast path (api/operation.py) and the leaf short path (api/executor.py) must
answer exactly what strawberry's own view and executor answer: same status, media type
and JSON, errors and nulls included."""

import enum
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry
from graphql import GraphQLObjectType
from starlette.applications import Starlette

from gql_portal.accounts.models import Role
from gql_portal.api.executor import ObjectPlan, PortalExecutor
from gql_portal.api.schema import PortalSchema
from gql_portal.api.view import GraphQLView
from gql_portal.app import create_app
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient

USERS = """query($first: Int, $filter: UserFilter) { users(first: $first, filter: $filter) {
  edges { cursor node { id email displayName roles domain { id name }
    twoFactor { state enabled enrolled enrolledAt recoveryCodesRemaining lockedUntil } } }
  pageInfo { hasNextPage endCursor } } }"""
GRAPHQL_RESPONSE = "application/graphql-response+json"


def _view(app: Starlette) -> GraphQLView:
    for route in app.routes:
        endpoint = getattr(route, "endpoint", None)
        if isinstance(endpoint, GraphQLView):
            return endpoint
    raise AssertionError("no GraphQL route")


@pytest.fixture
async def slow_client(database: object) -> AsyncIterator[httpx.AsyncClient]:
    """The same app with the fast path switched off: strawberry's view answers all."""
    app = create_app(manage_database=False)
    _view(app).fast = None
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _answer(http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await http.post("/graphql", json=body, headers=headers)
    return response.status_code, response.headers["content-type"], response.json()


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
]


@pytest.mark.parametrize(("name", "body", "signed_in", "headers"), CASES, ids=[c[0] for c in CASES])
async def test_fast_path_answers_like_strawberrys_view(
    client: GraphQLClient,
    slow_client: httpx.AsyncClient,
    name: str,
    body: dict[str, Any],
    signed_in: bool,
    headers: dict[str, str],
) -> None:
    domain = await make_domain(two_factor=True)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN], two_factor_enabled=False)
    await make_user(domain, roles=[Role.USER], two_factor_enabled=True)
    token = (await client.login(admin.email, PASSWORD))["token"]
    sent = dict(headers) | ({"authorization": f"Bearer {token}"} if signed_in else {})
    sent["x-request-id"] = "fast-path-compare"  # errors carry it: the same on both paths
    fast = await _answer(client.http, body, sent)
    slow = await _answer(slow_client, body, sent)
    assert fast == slow
    # The cases above are real answers, not all alike: data, field errors, request errors.
    assert fast[0] in (200, 400)


async def test_valid_documents_skip_strawberrys_execute(
    client: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str | None] = []
    original = PortalSchema.execute

    async def counted(self: PortalSchema, query: str | None, *args: Any, **kwargs: Any) -> Any:
        calls.append(query)
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(PortalSchema, "execute", counted)
    domain = await make_domain()
    user = await make_user(domain)
    token = (await client.login(user.email, PASSWORD))["token"]
    assert len(calls) == 0  # the login mutation took the fast path too
    me = (await client.execute("{ me { email } }", token=token)).ok()["me"]
    assert me == {"email": user.email} and calls == []
    # A document that does not parse is strawberry's to answer, with the contract code.
    broken = await client.execute("{ me { email ", token=token)
    assert calls == ["{ me { email "]
    assert broken.body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


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
    ours = strawberry.Schema(query=Query, execution_context_class=PortalExecutor)
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
