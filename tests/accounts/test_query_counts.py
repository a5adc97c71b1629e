"""Structural performance rules the benchmarks (bench/) rely on."""

from gql_portal.accounts.models import Role
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.querycount import count_queries

ME = "{ me { id email displayName roles } }"


async def test_me_costs_one_statement(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, roles=[Role.USER])
    token = (await client.login(user.email, PASSWORD))["token"]
    with count_queries() as statements:
        answer = (await client.execute(ME, token=token)).ok()
    assert answer["me"]["email"] == user.email
    # The session, its user, the domain's rules and "enrolled?" in one statement; the
    # once-a-minute last_seen_at write does not fall due for a fresh session.
    assert len(statements) == 1, statements


async def test_me_for_a_pending_session_still_costs_one_statement(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    login = await client.login(user.email, PASSWORD)
    assert login["status"] == "ENROLLMENT_REQUIRED"
    with count_queries() as statements:
        answer = (await client.execute(ME, token=login["token"])).ok()
    assert answer["me"]["id"] == str(user.id)
    assert len(statements) == 1, statements
