"""The static cost limit (api/cost.py): refused before anything executes, on both paths."""

import time
from typing import Any

import pytest
from graphql import parse
from graphql.utilities import get_operation_ast

from gql_portal.accounts.models import Role
from gql_portal.api.cost import fragments_of, operation_cost
from gql_portal.api.schema import default_schema
from gql_portal.audit.models import AuditEvent
from gql_portal.settings import get_settings
from tests.audit.helpers import signed_in
from tests.factories import make_domain
from tests.graphql import GraphQLClient, Result
from tests.http.support import client_with

USER = (
    "id email displayName roles createdAt lastLoginAt domain { id name }"
    " twoFactor { state available enabled enrolled enrolledAt enrollmentDeadline lockedUntil"
    " lockedPermanently recoveryCodesRemaining }"
)
# The portal's largest real pages: they must pass the default limit.
USERS_PAGE = (
    "query($n: Int) { users(first: $n) { edges { cursor node { USER } }"
    " pageInfo { hasNextPage endCursor } } }"
).replace("USER", USER)
AUDIT_PAGE = (
    "query($n: Int) { auditEvents(first: $n) { totalCount edges { cursor node { id occurredAt"
    " action outcome actorEmail targetEmail ip userAgent requestId jobId details"
    " actor { USER } target { USER } } } pageInfo { hasNextPage endCursor } } }"
).replace("USER", USER)
BULK_PAGE = (
    "query($n: Int) { bulkJobs(first: $n) { edges { cursor node { id kind status"
    " filter { roles userIds twoFactorStates } dryRun total processed changed skipped failed"
    " progress cancelRequested requestedByEmail createdAt startedAt finishedAt error"
    " requestedBy { USER } } } pageInfo { hasNextPage endCursor } } }"
).replace("USER", USER)
# The attack shapes of issue 11: they must not.
STATS_PAGE = (
    "users(first: 500) { edges { node { domain { twoFactorStats"
    " { users enabled enrolled pendingEnrollment lockedOut } } } } }"
)
STATS_ALIASES = "query { " + " ".join(f"a{i}: {STATS_PAGE}" for i in range(5)) + " }"
AUDIT_PAGE_ACTORS = (
    "auditEvents(first: 500) { edges { node { id actor { id email } target { id email } } } }"
)
AUDIT_ALIASES = "query { " + " ".join(f"a{i}: {AUDIT_PAGE_ACTORS}" for i in range(30)) + " }"
SMALL = "query($n: Int) { users(first: $n) { edges { node { id domain { id } } } } }"


def cost_of(document: str, variables: dict[str, Any] | None = None) -> int:
    parsed = parse(document)
    operation = get_operation_ast(parsed)
    assert operation is not None
    return operation_cost(
        default_schema()._schema, operation, fragments_of(parsed), variables or {}
    )


def assert_refused(result: Result, cost: int, max_cost: int) -> None:
    assert result.body["data"] is None, result.body
    assert result.code == "BAD_USER_INPUT"
    extensions = result.errors[0]["extensions"]
    assert (extensions["cost"], extensions["maxCost"]) == (cost, max_cost)


def test_objects_cost_one_and_a_list_its_first() -> None:
    # users 1 + 10 x (edges 1 + node 1 + domain 1); scalars read off attributes cost 0.
    assert cost_of(SMALL, {"n": 10}) == 31
    assert cost_of(SMALL, {"n": 500}) == 1501
    assert cost_of(SMALL) == 1 + 50 * 3  # first absent: 50
    assert cost_of(SMALL.replace("first: $n", "first: 500")) == 1501
    # A scalar with its own resolver is a statement: totalCount costs 1.
    assert cost_of("{ auditEvents(first: 10) { totalCount } }") == 2


def test_fragments_and_aliases_count_every_time() -> None:
    inline = cost_of(SMALL, {"n": 10})
    fragment = "fragment F on User { id domain { id } }"
    spread = "query { users(first: 10) { edges { node { ...F } } } } " + fragment
    assert cost_of(spread) == inline
    twice = (
        "query { a: users(first: 10) { edges { node { ...F } } }"
        " b: users(first: 10) { edges { node { ...F ... on User { domain { name } } } } } } "
        + fragment
    )
    assert cost_of(twice) == inline + 1 + 10 * 4


def test_nested_fragments_cost_linear_time() -> None:
    # Each fragment spreads the next one twice: 2**40 domains, priced without walking them.
    levels = 40
    fragments = " ".join(
        f"fragment F{i} on Domain {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    document = (
        "query { domain { ...F0 } } "
        + fragments
        + f" fragment F{levels} on Domain {{ passwordSecurityRules {{ twoFactorEnabled }} }}"
    )
    started = time.perf_counter()
    assert cost_of(document) == 1 + 2**levels
    assert time.perf_counter() - started < 1


def test_the_default_limit_passes_real_pages_and_refuses_the_attack_shapes() -> None:
    limit = get_settings().max_query_cost
    for page in (USERS_PAGE, AUDIT_PAGE, BULK_PAGE):
        assert cost_of(page, {"n": 500}) <= limit, page
    # Two of the largest real pages in one document still pass.
    assert cost_of(USERS_PAGE, {"n": 500}) + cost_of(AUDIT_PAGE, {"n": 500}) <= limit
    assert cost_of(STATS_ALIASES) > limit
    assert cost_of(AUDIT_ALIASES) > limit


async def test_real_pages_of_500_pass_on_the_default_limit(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    _, token = await signed_in(client, domain, Role.SECURITY_ADMIN)
    for page, root in ((USERS_PAGE, "users"), (AUDIT_PAGE, "auditEvents"), (BULK_PAGE, "bulkJobs")):
        result = await client.execute(page, {"n": 500}, token=token)
        assert result.ok()[root]["edges"] is not None


@pytest.mark.parametrize("document", [STATS_ALIASES, AUDIT_ALIASES])
async def test_attack_shapes_are_refused_before_anything_runs(
    client: GraphQLClient, document: str
) -> None:
    domain = await make_domain(two_factor=True)
    # A plain USER: had a resolver run, it would answer FORBIDDEN and leave ACCESS_DENIED.
    _, token = await signed_in(client, domain, Role.USER)
    events = await AuditEvent.all().count()
    result = await client.execute(document, token=token)
    assert_refused(result, cost_of(document), get_settings().max_query_cost)
    assert await AuditEvent.all().count() == events
    assert result.errors[0]["message"].startswith("The query costs")


async def test_a_variable_first_costs_like_a_literal_one(client: GraphQLClient) -> None:
    domain = await make_domain()
    async with client_with(max_query_cost=1000) as limited:
        _, token = await signed_in(limited, domain, Role.USER)
        refused = await limited.execute(SMALL, {"n": 500}, token=token)
        assert_refused(refused, 1501, 1000)
        literal_500 = SMALL.replace("($n: Int)", "").replace("$n", "500")
        literal = await limited.execute(literal_500, token=token)
        assert_refused(literal, 1501, 1000)
        # Under the limit the operation runs: the USER is refused by the resolver instead.
        allowed = await limited.execute(SMALL, {"n": 10}, token=token)
        assert allowed.code == "FORBIDDEN"


async def test_strawberrys_view_checks_the_cost_too(client: GraphQLClient) -> None:
    domain = await make_domain()
    async with client_with(max_query_cost=1000) as limited:
        user, token = await signed_in(limited, domain, Role.USER)
        events = await AuditEvent.all().count()
        headers = {"Authorization": f"Bearer {token}"}
        # GET is answered by strawberry's view, never by the fast path.
        response = await limited.http.get(
            "/graphql",
            params={"query": SMALL, "variables": '{"n": 500}'},
            headers=headers,
        )
        assert_refused(Result(response.status_code, response.json()), 1501, 1000)
        assert await AuditEvent.all().count() == events
        allowed = await limited.http.get(
            "/graphql", params={"query": SMALL, "variables": '{"n": 10}'}, headers=headers
        )
        assert Result(allowed.status_code, allowed.json()).code == "FORBIDDEN"
        assert await AuditEvent.filter(actor_id=user.id, action="ACCESS_DENIED").count() == 1


async def test_a_variable_that_does_not_coerce_is_a_plain_input_error(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    async with client_with(max_query_cost=100) as limited:
        _, token = await signed_in(limited, domain, Role.USER)
        result = await limited.execute(SMALL, {"n": "many"}, token=token)
        assert result.code == "BAD_USER_INPUT"
        assert "cost" not in result.errors[0]["extensions"]


def test_a_list_that_takes_first_costs_its_first() -> None:
    # BulkJob.importRows / errors are plain lists with their own `first` (up to 1,000).
    rows = '{ bulkJob(id: "x") { importRows(first: 1000) { line } errors(first: 1000) { line } } }'
    assert cost_of(rows) == 1 + 1000 + 1000
    assert cost_of(rows.replace("1000", "10")) == 1 + 10 + 10
    aliased = (
        "{ "
        + " ".join(
            f'a{i}: bulkJob(id: "x") {{ importRows(first: 1000) {{ line }} }}' for i in range(9)
        )
        + " }"
    )
    assert cost_of(aliased) > get_settings().max_query_cost
    # first absent: the list's own default (100), not a connection's.
    assert cost_of('{ bulkJob(id: "x") { importRows { line } } }') == 1 + 100
