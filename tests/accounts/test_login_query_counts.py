"""Structural performance rules for the login mutation (bench/login_burst.py relies on them).

Counted as tests/accounts/test_query_counts.py counts: the statements Tortoise sends,
without BEGIN and COMMIT. The document asks what the bench asks, so nothing is counted
for resolving the user's fields.
"""

from gql_portal.accounts.models import Role
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.querycount import count_queries

LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { status token } }"


async def test_a_successful_login_costs_eight_statements(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, roles=[Role.USER])
    with count_queries() as statements:
        result = await client.execute(LOGIN, {"e": user.email, "p": PASSWORD})
    assert result.ok()["login"]["status"] == "AUTHENTICATED"
    # The IP's and the email's throttle upserts; the candidates with their rules and
    # "enrolled?"; the cleared email throttle and the IP's failure given back; the session,
    # last_login_at and the LOGIN_SUCCEEDED event.
    assert len(statements) == 8, statements
