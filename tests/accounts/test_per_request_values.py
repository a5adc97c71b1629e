"""Per-domain values are computed once per request, and users reached from a page (audit
actors and targets, the rules' updatedBy) are read in batches: a page costs a fixed number
of statements whatever its size (counted as in tests/accounts/test_users_query.py)."""

from datetime import timedelta

from gql_portal.accounts.models import Domain, PasswordSecurityRules, Role, User
from gql_portal.audit.models import AuditEvent
from gql_portal.clock import utcnow
from gql_portal.two_factor.models import TotpAuthenticator
from tests.accounts.test_users_query import _bulk_users
from tests.audit.helpers import signed_in
from tests.factories import make_domain
from tests.graphql import GraphQLClient
from tests.querycount import count_queries

STATS_PAGE = """
query($first: Int) {
  users(first: $first) {
    edges { node { id domain { name
      twoFactorStats { users enabled enrolled pendingEnrollment lockedOut }
      passwordSecurityRules { twoFactorEnabled
        updatedBy { email domain { name } twoFactor { state recoveryCodesRemaining } } } } } }
  }
}
"""
AUDIT_PAGE = """
query($first: Int) {
  auditEvents(first: $first) {
    edges { node { id action
      actor { id email domain { name } twoFactor { state enrolled recoveryCodesRemaining } }
      target { id email domain { name } twoFactor { state enrolled recoveryCodesRemaining } } } }
  }
}
"""


async def _statements(client: GraphQLClient, document: str, first: int, token: str) -> int:
    with count_queries() as statements:
        result = await client.execute(document, {"first": first}, token=token)
    page = next(iter(result.ok().values()))
    assert len(page["edges"]) == first
    return len(statements)


async def test_domain_stats_and_rules_cost_the_same_for_5_50_and_200_users(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    await _bulk_users(domain, 210)
    admin, token = await signed_in(client, domain, Role.SECURITY_ADMIN)
    await PasswordSecurityRules.filter(domain_id=domain.id).update(updated_by_id=admin.id)
    counts = {size: await _statements(client, STATS_PAGE, size, token) for size in (5, 50, 200)}
    assert counts[5] == counts[50] == counts[200], counts
    result = await client.execute(STATS_PAGE, {"first": 3}, token=token)
    nodes = [edge["node"] for edge in result.ok()["users"]["edges"]]
    stats = {"users": 211, "enabled": 105, "enrolled": 0, "pendingEnrollment": 105, "lockedOut": 0}
    assert all(node["domain"]["twoFactorStats"] == stats for node in nodes)
    updated_by = nodes[0]["domain"]["passwordSecurityRules"]["updatedBy"]
    assert updated_by == {
        "email": admin.email,
        "domain": {"name": domain.name},
        "twoFactor": {"state": "DISABLED", "recoveryCodesRemaining": 0},
    }


async def _events_between_users(domain: Domain, count: int) -> list[User]:
    users = list(await User.filter(domain_id=domain.id).order_by("id"))
    start = utcnow() - timedelta(hours=1)
    await AuditEvent.bulk_create(
        [
            AuditEvent(
                domain_id=domain.id,
                occurred_at=start + timedelta(seconds=n),
                action="USER_TWO_FACTOR_ENABLED",
                outcome="SUCCESS",
                actor_id=users[n % len(users)].id,
                target_id=users[(n * 7 + 1) % len(users)].id,
            )
            for n in range(count)
        ]
    )
    return users


async def test_audit_actors_and_targets_cost_the_same_for_10_50_and_200_events(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    other = await make_domain()
    await _bulk_users(domain, 300)
    users = await _events_between_users(domain, 220)
    for user in users[:40:2]:
        await TotpAuthenticator.create(user_id=user.id, secret_encrypted="x", confirmed_at=utcnow())
    _, token = await signed_in(client, domain, Role.AUDITOR)
    # A user moved to another domain since is not shown (the events are this domain's).
    moved = users[25]  # the actor of an event on the page
    await User.filter(id=moved.id).update(domain_id=other.id)
    counts = {size: await _statements(client, AUDIT_PAGE, size, token) for size in (10, 50, 200)}
    assert counts[10] == counts[50] == counts[200], counts
    result = await client.execute(AUDIT_PAGE, {"first": 200}, token=token)
    nodes = [edge["node"] for edge in result.ok()["auditEvents"]["edges"]]
    by_email = {user.email: user for user in await User.filter(domain_id=domain.id)}
    enrolled = {user.email for user in users[:40:2]}
    seen = [node[side] for node in nodes for side in ("actor", "target")]
    assert moved.email not in {user["email"] for user in seen if user}
    assert None in seen  # the moved user
    for user in filter(None, seen):
        assert by_email[user["email"]].id == int(user["id"])
        assert user["domain"] == {"name": domain.name}
        assert user["twoFactor"]["enrolled"] is (user["email"] in enrolled)
