"""notifications(...): delivery state for SECURITY_ADMIN, SYSTEM_ADMIN and AUDITOR, of the
viewer's domain only, newest first, keyset pages at a fixed statement count; and the
domain's switch for optional messages."""

from typing import Any

import pytest
from tortoise.transactions import in_transaction

from gql_portal.accounts.models import Domain, PasswordSecurityRules, Role, User
from gql_portal.audit.models import AuditEvent
from gql_portal.notifications import outbox
from gql_portal.notifications.models import Notification, NotificationKind
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient
from tests.querycount import count_queries
from tests.two_factor.helpers import admin_token, login

K = NotificationKind
NOTIFICATIONS = """
query($first: Int, $after: String, $filter: NotificationFilter) {
  notifications(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id kind status recipient attempts lastError createdAt sentAt
      nextAttemptAt user { id email } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
SWITCH = """
mutation($on: Boolean) {
  updatePasswordSecurityRules(input: {optionalNotificationsEnabled: $on}) {
    optionalNotificationsEnabled minPasswordLength
  }
}
"""


async def _queue(user: User, kind: NotificationKind, count: int = 1) -> None:
    async with in_transaction() as connection:
        for _ in range(count):
            await outbox.enqueue(
                kind,
                domain_id=user.domain_id,
                user_id=user.id,
                recipient=user.email,
                params={"secret-looking": "never shown"},
                using_db=connection,
            )


async def _page(client: GraphQLClient, token: str, **variables: Any) -> dict[str, Any]:
    result = await client.execute(NOTIFICATIONS, variables, token=token)
    return result.ok()["notifications"]


async def _ids(client: GraphQLClient, token: str, **variables: Any) -> list[int]:
    page = await _page(client, token, **variables)
    return [int(edge["node"]["id"]) for edge in page["edges"]]


async def _setup(client: GraphQLClient, role: Role = Role.AUDITOR) -> tuple[Domain, User, str]:
    domain = await make_domain(two_factor=True)
    _, token = await admin_token(client, domain, roles=[role])
    user = await make_user(domain)
    return domain, user, token


@pytest.mark.parametrize("role", [Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR])
async def test_readers_see_their_domains_messages_newest_first(
    client: GraphQLClient, role: Role
) -> None:
    _domain, user, token = await _setup(client, role)
    await _queue(user, K.TWO_FACTOR_ENABLED)
    await _queue(user, K.AUTHENTICATOR_ADDED)
    stranger = await make_user(await make_domain())
    await _queue(stranger, K.TWO_FACTOR_RESET)
    page = await _page(client, token)
    nodes = [edge["node"] for edge in page["edges"]]
    assert [node["kind"] for node in nodes] == ["AUTHENTICATOR_ADDED", "TWO_FACTOR_ENABLED"]
    first = nodes[0]
    assert first["status"] == "QUEUED" and first["attempts"] == 0
    assert first["recipient"] == user.email
    assert first["user"] == {"id": str(user.id), "email": user.email}
    assert first["nextAttemptAt"] is not None and first["sentAt"] is None
    assert page["pageInfo"]["hasNextPage"] is False


async def test_a_plain_user_is_forbidden_and_the_refusal_audited(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    token = (await login(client, user.email))["token"]
    result = await client.execute(NOTIFICATIONS, token=token)
    assert result.code == "FORBIDDEN"
    assert await AuditEvent.filter(action="ACCESS_DENIED", actor_id=user.id).count() == 1


async def test_without_a_session_it_is_unauthenticated(client: GraphQLClient) -> None:
    assert (await client.execute(NOTIFICATIONS)).code == "UNAUTHENTICATED"


async def test_a_pending_token_must_pass_the_second_factor_first(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    auditor = await make_user(domain, roles=[Role.AUDITOR], two_factor_enabled=True)
    pending = (await login(client, auditor.email))["token"]
    assert (await client.execute(NOTIFICATIONS, token=pending)).code == "TWO_FACTOR_REQUIRED"


async def test_filters_and_another_domains_user_id(client: GraphQLClient) -> None:
    domain, user, token = await _setup(client)
    other = await make_user(domain)
    await _queue(user, K.TWO_FACTOR_ENABLED)
    await _queue(other, K.CODE_STEP_LOCKED)
    await Notification.filter(user_id=other.id).update(status="FAILED", last_error="550 no")
    stranger = await make_user(await make_domain())
    await _queue(stranger, K.CODE_STEP_LOCKED)
    by_user = await _page(client, token, filter={"userId": str(other.id)})
    assert [edge["node"]["lastError"] for edge in by_user["edges"]] == ["550 no"]
    assert await _ids(client, token, filter={"status": "FAILED"}) == await _ids(
        client, token, filter={"kind": "CODE_STEP_LOCKED"}
    )
    assert len(await _ids(client, token, filter={"status": "FAILED"})) == 1
    assert await _ids(client, token, filter={"userId": str(stranger.id)}) == []
    assert await _ids(client, token, filter={"status": "SENT", "kind": "TWO_FACTOR_ENABLED"}) == []
    bad = await client.execute(NOTIFICATIONS, {"filter": {"userId": "x"}}, token=token)
    assert bad.code == "BAD_USER_INPUT"
    assert bad.errors[0]["extensions"]["field"] == "userId"


async def test_keyset_pages_at_a_fixed_statement_count(client: GraphQLClient) -> None:
    domain, _user, token = await _setup(client)
    users = [await make_user(domain) for _ in range(6)]
    for each in users:
        await _queue(each, K.RECOVERY_CODES_REGENERATED, count=5)
    everything = await _ids(client, token, first=100)
    assert len(everything) == 30 and everything == sorted(everything, reverse=True)
    walked: list[int] = []
    after = None
    while True:
        page = await _page(client, token, first=7, after=after)
        walked += [int(edge["node"]["id"]) for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == everything
    counts = []
    for first in (2, 30):
        with count_queries() as statements:
            await _page(client, token, first=first)
        counts.append(len(statements))
    assert counts[0] == counts[1]
    malformed = await client.execute(NOTIFICATIONS, {"after": "bm9wZQ"}, token=token)
    assert malformed.code == "BAD_USER_INPUT"


async def test_the_type_shows_no_body_and_no_params(client: GraphQLClient) -> None:
    result = await client.execute('{ __type(name: "Notification") { fields { name } } }')
    names = {field["name"] for field in result.ok()["__type"]["fields"]}
    assert names == {
        "id",
        "kind",
        "status",
        "recipient",
        "user",
        "attempts",
        "lastError",
        "createdAt",
        "sentAt",
        "nextAttemptAt",
    }


async def test_the_switch_is_a_security_admins_audited_rule(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    _admin, token = await admin_token(client, domain, roles=[Role.SECURITY_ADMIN])
    answer = (await client.execute(SWITCH, {"on": False}, token=token)).ok()
    assert answer["updatePasswordSecurityRules"]["optionalNotificationsEnabled"] is False
    rules = await PasswordSecurityRules.get(domain_id=domain.id)
    assert rules.optional_notifications_enabled is False
    [event] = await AuditEvent.filter(action="PASSWORD_RULES_UPDATED")
    assert event.details == {
        "changes": {"optional_notifications_enabled": {"from": True, "to": False}}
    }
    await client.execute(SWITCH, {"on": None}, token=token)  # null: unchanged
    assert (
        await PasswordSecurityRules.get(domain_id=domain.id)
    ).optional_notifications_enabled is False
    _, sysadmin = await admin_token(client, domain, roles=[Role.SYSTEM_ADMIN])
    refused = await client.execute(SWITCH, {"on": True}, token=sysadmin)
    assert refused.code == "FORBIDDEN"
    assert (
        await PasswordSecurityRules.get(domain_id=domain.id)
    ).optional_notifications_enabled is False
