"""users(filter: {active}) and totalCount: one COUNT with the page's filter, only when asked."""

from gql_portal.accounts.models import Domain, Role, User, encode_roles
from tests.accounts.provisioning_helpers import signed_in
from tests.factories import make_domain, password_hash
from tests.graphql import GraphQLClient
from tests.querycount import count_queries

COUNTED = """
query($first: Int, $filter: UserFilter) {
  users(first: $first, filter: $filter) { totalCount edges { node { email active } } }
}
"""
UNCOUNTED = "query($first: Int) { users(first: $first) { edges { node { email } } } }"


async def _users(domain: Domain, count: int, *, active: bool) -> None:
    hashed = await password_hash()
    prefix = "on" if active else "off"
    await User.bulk_create(
        [
            User(
                domain_id=domain.id,
                email=f"{prefix}{n:04d}@{domain.name}",
                email_normalized=f"{prefix}{n:04d}@{domain.name}",
                roles=encode_roles([Role.USER]),
                password_hash=hashed,
                active=active,
            )
            for n in range(count)
        ]
    )


async def test_total_count_and_the_active_filter(client: GraphQLClient) -> None:
    domain, other = await make_domain(), await make_domain()
    await _users(domain, 30, active=True)
    await _users(domain, 12, active=False)
    await _users(other, 7, active=False)
    _, token = await signed_in(client, domain, Role.AUDITOR)
    everyone = (await client.execute(COUNTED, {"first": 5}, token=token)).ok()["users"]
    assert everyone["totalCount"] == 43 and len(everyone["edges"]) == 5
    inactive = (
        await client.execute(COUNTED, {"first": 50, "filter": {"active": False}}, token=token)
    ).ok()["users"]
    assert inactive["totalCount"] == 12 and len(inactive["edges"]) == 12
    assert {edge["node"]["active"] for edge in inactive["edges"]} == {False}
    active = (
        await client.execute(
            COUNTED, {"first": 3, "filter": {"active": True, "search": "on001"}}, token=token
        )
    ).ok()["users"]
    assert active["totalCount"] == 10 and len(active["edges"]) == 3


async def test_total_count_costs_one_statement_whatever_the_page(client: GraphQLClient) -> None:
    domain = await make_domain()
    await _users(domain, 120, active=True)
    _, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    counted, uncounted = {}, {}
    for size in (5, 50, 100):
        with count_queries() as statements:
            (await client.execute(COUNTED, {"first": size}, token=token)).ok()
        counted[size] = len(statements)
        assert sum("COUNT(" in statement.upper() for statement in statements) == 1
        with count_queries() as statements:
            (await client.execute(UNCOUNTED, {"first": size}, token=token)).ok()
        uncounted[size] = len(statements)
        assert not any("COUNT(" in statement.upper() for statement in statements)
    assert len(set(counted.values())) == 1 and len(set(uncounted.values())) == 1
    assert counted[5] == uncounted[5] + 1
