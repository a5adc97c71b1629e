from gql_portal.accounts.models import Domain, Role, User, encode_roles
from gql_portal.audit.models import AuditEvent
from gql_portal.two_factor.models import TotpAuthenticator
from tests.factories import PASSWORD, make_domain, make_user, password_hash
from tests.graphql import GraphQLClient
from tests.querycount import count_queries

USERS = """
query($first: Int, $after: String, $filter: UserFilter) {
  users(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id email displayName roles domain { id name }
      twoFactor { state enabled enrolled enrolledAt recoveryCodesRemaining lockedUntil } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
USER = "query($id: ID!) { user(id: $id) { id email } }"


async def _bulk_users(domain: Domain, count: int) -> None:
    hashed = await password_hash()
    await User.bulk_create(
        [
            User(
                domain_id=domain.id,
                email=f"bulk{n:04d}@{domain.name}",
                email_normalized=f"bulk{n:04d}@{domain.name}",
                roles=encode_roles([Role.USER]),
                password_hash=hashed,
                two_factor_enabled=n % 2 == 0,
            )
            for n in range(count)
        ]
    )


async def _signed_in(client: GraphQLClient, domain: Domain, *roles: Role) -> tuple[User, str]:
    user = await make_user(domain, roles=list(roles))
    return user, (await client.login(user.email, PASSWORD))["token"]


async def test_pages_walk_the_whole_domain_in_email_order(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    other = await make_domain()
    await _bulk_users(domain, 25)
    await _bulk_users(other, 5)
    _, token = await _signed_in(client, domain, Role.AUDITOR)
    seen: list[str] = []
    after = None
    while True:
        page = (await client.execute(USERS, {"first": 7, "after": after}, token=token)).ok()[
            "users"
        ]
        seen += [edge["node"]["email"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 26 and seen == sorted(seen)
    assert all(email.endswith(domain.name) for email in seen)


async def test_a_page_costs_the_same_queries_for_10_50_and_200_users(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    await _bulk_users(domain, 210)
    user_ids = (
        await User.filter(domain_id=domain.id, two_factor_enabled=True)
        .limit(20)
        .values_list("id", flat=True)
    )
    for user_id in user_ids:
        await TotpAuthenticator.create(
            user_id=user_id, secret_encrypted="x", confirmed_at=domain.created_at
        )
    _, token = await _signed_in(client, domain, Role.SECURITY_ADMIN)
    counts = {}
    for size in (10, 50, 200):
        with count_queries() as statements:
            page = (await client.execute(USERS, {"first": size}, token=token)).ok()["users"]
        assert len(page["edges"]) == size
        counts[size] = len(statements)
    assert counts[10] == counts[50] == counts[200], counts
    assert counts[200] <= 10, counts


async def test_filters_by_search_role_and_state(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    _, token = await _signed_in(client, domain, Role.SECURITY_ADMIN)
    alice = await make_user(domain, f"alice@{domain.name}", display_name="Alice Liddell")
    bob = await make_user(
        domain, f"bob@{domain.name}", roles=[Role.AUDITOR], two_factor_enabled=True
    )
    carol = await make_user(domain, f"carol@{domain.name}", two_factor_enabled=True)
    await TotpAuthenticator.create(
        user_id=carol.id, secret_encrypted="x", confirmed_at=carol.created_at
    )

    async def emails(filter: dict[str, object]) -> set[str]:
        page = (await client.execute(USERS, {"filter": filter}, token=token)).ok()["users"]
        return {edge["node"]["email"] for edge in page["edges"]}

    assert await emails({"search": "LIDDELL"}) == {alice.email}
    assert await emails({"search": "bob@"}) == {bob.email}
    assert await emails({"roles": ["AUDITOR"]}) == {bob.email}
    assert await emails({"twoFactorState": "ENROLLED"}) == {carol.email}
    assert await emails({"twoFactorState": "PENDING_ENROLLMENT"}) == {bob.email}
    assert alice.email in await emails({"twoFactorState": "DISABLED"})
    assert await emails({"twoFactorState": "NOT_AVAILABLE"}) == set()
    assert await emails({"roles": ["AUDITOR"], "twoFactorState": "ENROLLED"}) == set()


async def test_plain_users_may_not_list_users(client: GraphQLClient) -> None:
    domain = await make_domain()
    me, token = await _signed_in(client, domain, Role.USER)
    result = await client.execute(USERS, {}, token=token)
    assert result.code == "FORBIDDEN"
    assert await AuditEvent.filter(action="ACCESS_DENIED", actor_id=me.id).count() == 1
    own = await client.execute(USER, {"id": str(me.id)}, token=token)
    assert own.ok()["user"]["email"] == me.email


async def test_other_domains_ids_answer_like_missing_ids(client: GraphQLClient) -> None:
    domain = await make_domain()
    other = await make_domain()
    stranger = await make_user(other)
    neighbour = await make_user(domain)
    for role in (Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR):
        _, token = await _signed_in(client, domain, role)
        found = await client.execute(USER, {"id": str(neighbour.id)}, token=token)
        assert found.ok()["user"]["email"] == neighbour.email
        foreign = await client.execute(USER, {"id": str(stranger.id)}, token=token)
        missing = await client.execute(USER, {"id": "987654"}, token=token)
        assert foreign.code == missing.code == "NOT_FOUND"
        assert foreign.errors[0]["message"] == missing.errors[0]["message"]
        assert foreign.body["data"] == missing.body["data"] == {"user": None}


async def test_users_requires_a_token(client: GraphQLClient) -> None:
    assert (await client.execute(USERS, {})).code == "UNAUTHENTICATED"
    assert (await client.execute(USER, {"id": "1"})).code == "UNAUTHENTICATED"
