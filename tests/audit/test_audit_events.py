from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from gql_portal.accounts.models import Role, User
from gql_portal.audit.models import AuditEvent
from gql_portal.clock import utcnow
from tests.audit.helpers import fill_events, make_event, signed_in
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient
from tests.querycount import count_queries

EVENTS = """
query($first: Int, $after: String, $filter: AuditEventFilter) {
  auditEvents(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id occurredAt action outcome actorEmail targetEmail ip userAgent
      requestId jobId details actor { id email } target { id email } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
TOTAL = "query($f: AuditEventFilter) { auditEvents(first: 1, filter: $f) { totalCount } }"


async def _ids(client: GraphQLClient, token: str, **variables: Any) -> list[int]:
    data = (await client.execute(EVENTS, {"first": 500, **variables}, token=token)).ok()
    return [int(edge["node"]["id"]) for edge in data["auditEvents"]["edges"]]


async def test_each_filter_alone_and_combined_matches_the_rows(client: GraphQLClient) -> None:
    domain = await make_domain()
    alice = await make_user(domain)
    bob = await make_user(domain)
    job = uuid4()
    # A job writes one event per (action, target): its events name distinct users.
    job_targets = [await make_user(domain) for _ in range(4)]
    now = utcnow()
    for n in range(24):
        await make_event(
            domain,
            occurred_at=now - timedelta(hours=n),
            action=["LOGIN_FAILED", "LOGOUT", "USER_TWO_FACTOR_ENABLED"][n % 3],
            outcome="FAILURE" if n % 4 == 0 else "SUCCESS",
            actor_id=alice.id if n % 2 else bob.id,
            target_id=job_targets[n // 6].id if n % 6 == 0 else bob.id if n % 5 == 0 else alice.id,
            job_id=job if n % 6 == 0 else None,
            ip="192.0.2.1" if n % 7 == 0 else "192.0.2.2",
        )
    _, token = await signed_in(client, domain, Role.AUDITOR)
    rows = await AuditEvent.filter(domain_id=domain.id)
    since, until = now - timedelta(hours=10, minutes=1), now - timedelta(hours=3, minutes=1)

    cases: list[tuple[dict[str, Any], Callable[[AuditEvent], bool]]] = [
        ({"actions": ["LOGOUT", "LOGIN_FAILED"]}, lambda e: e.action in ("LOGOUT", "LOGIN_FAILED")),
        ({"outcome": "FAILURE"}, lambda e: e.outcome == "FAILURE"),
        ({"actorId": str(alice.id)}, lambda e: e.actor_id == alice.id),
        ({"targetUserId": str(bob.id)}, lambda e: e.target_id == bob.id),
        ({"jobId": str(job)}, lambda e: e.job_id == job),
        ({"since": since.isoformat()}, lambda e: e.occurred_at >= since),
        ({"until": until.isoformat()}, lambda e: e.occurred_at <= until),
        ({"ip": "192.0.2.1"}, lambda e: e.ip == "192.0.2.1"),
        (
            {
                "actions": ["LOGOUT"],
                "actorId": str(alice.id),
                "since": since.isoformat(),
                "until": until.isoformat(),
            },
            lambda e: (
                e.action == "LOGOUT" and e.actor_id == alice.id and since <= e.occurred_at <= until
            ),
        ),
        (
            {"outcome": "FAILURE", "jobId": str(job), "ip": "192.0.2.1"},
            lambda e: e.outcome == "FAILURE" and e.job_id == job and e.ip == "192.0.2.1",
        ),
    ]
    for filter, matches in cases:
        expected = sorted(
            (e for e in rows if matches(e)), key=lambda e: (e.occurred_at, e.id), reverse=True
        )
        assert expected, f"case {filter} selects nothing: a useless case"
        assert await _ids(client, token, filter=filter) == [e.id for e in expected], filter
        total = (await client.execute(TOTAL, {"f": filter}, token=token)).ok()
        assert total["auditEvents"]["totalCount"] == len(expected)
    # Combined filters narrow: the last case holds exactly the events n % 84 == 0 -> n = 0.
    assert len(await _ids(client, token, filter=cases[-1][0])) == 1


async def test_a_reader_never_sees_another_domains_events(client: GraphQLClient) -> None:
    mine, other = await make_domain(), await make_domain()
    stranger = await make_user(other)
    await make_event(other, action="LOGIN_FAILED", actor_id=stranger.id)
    await make_event(None, action="LOGIN_FAILED", target_email="ghost@nowhere.example")
    own = await make_event(mine, action="LOGIN_FAILED")
    _, token = await signed_in(client, mine, Role.SECURITY_ADMIN)
    assert await _ids(client, token, filter={"actions": ["LOGIN_FAILED"]}) == [own.id]
    assert await _ids(client, token, filter={"actorId": str(stranger.id)}) == []


@pytest.mark.parametrize("role", [Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR])
async def test_readers_may_read(client: GraphQLClient, role: Role) -> None:
    domain = await make_domain()
    reader, token = await signed_in(client, domain, role)
    ids = await _ids(client, token)
    login = await AuditEvent.get(action="LOGIN_SUCCEEDED", target_id=reader.id)
    assert ids == [login.id]


async def test_a_plain_user_is_refused_and_leaves_access_denied(client: GraphQLClient) -> None:
    domain = await make_domain()
    user, token = await signed_in(client, domain, Role.USER)
    result = await client.execute(EVENTS, token=token)
    assert result.code == "FORBIDDEN"
    denied = await AuditEvent.get(action="ACCESS_DENIED", actor_id=user.id)
    assert denied.details == {"operation": "auditEvents"} and denied.outcome == "FAILURE"
    assert (await client.execute(EVENTS)).code == "UNAUTHENTICATED"


async def test_pages_are_stable_while_new_events_arrive(client: GraphQLClient) -> None:
    domain = await make_domain()
    _, token = await signed_in(client, domain, Role.AUDITOR)
    await fill_events(domain, 30)
    expected = [
        e.id for e in await AuditEvent.filter(domain_id=domain.id).order_by("-occurred_at", "-id")
    ]
    seen: list[int] = []
    after = None
    while True:
        page = (await client.execute(EVENTS, {"first": 7, "after": after}, token=token)).ok()
        seen += [int(edge["node"]["id"]) for edge in page["auditEvents"]["edges"]]
        # Newer events (and one at the very same instant as the cursor) must not shift pages.
        await make_event(domain, action="LOGOUT")
        if not page["auditEvents"]["pageInfo"]["hasNextPage"]:
            break
        after = page["auditEvents"]["pageInfo"]["endCursor"]
    assert seen == expected and len(seen) == 31


async def test_ties_on_the_same_instant_are_ordered_by_id(client: GraphQLClient) -> None:
    domain = await make_domain()
    _, token = await signed_in(client, domain, Role.AUDITOR)
    instant = utcnow() - timedelta(days=1)
    same = [(await make_event(domain, occurred_at=instant)).id for _ in range(5)]
    filter = {"until": (instant + timedelta(seconds=1)).isoformat()}
    first = (await client.execute(EVENTS, {"first": 2, "filter": filter}, token=token)).ok()
    after = first["auditEvents"]["pageInfo"]["endCursor"]
    rest = await _ids(client, token, filter=filter, after=after)
    got = [int(e["node"]["id"]) for e in first["auditEvents"]["edges"]] + rest
    assert got == sorted(same, reverse=True)


async def test_a_page_costs_the_same_queries_for_5_and_300_events(client: GraphQLClient) -> None:
    domain = await make_domain()
    users = [await make_user(domain) for _ in range(4)]
    for n in range(300):
        await make_event(domain, actor_id=users[n % 4].id, target_id=users[(n + 1) % 4].id)
    _, token = await signed_in(client, domain, Role.AUDITOR)
    counts = []
    for first in (5, 300):
        with count_queries() as statements:
            data = (await client.execute(EVENTS, {"first": first}, token=token)).ok()
        assert len(data["auditEvents"]["edges"]) == first
        assert all(e["node"]["actor"]["id"] for e in data["auditEvents"]["edges"])
        assert not any("COUNT(" in s.upper() for s in statements)
        counts.append(len(statements))
    assert counts[0] == counts[1]


async def test_deleted_users_keep_their_emails(client: GraphQLClient) -> None:
    domain = await make_domain()
    gone = await make_user(domain, f"gone@{domain.name}")
    await make_event(
        domain,
        actor_id=gone.id,
        actor_email=gone.email,
        target_id=gone.id,
        target_email=gone.email,
        details={"operation": "x"},
    )
    await User.filter(id=gone.id).delete()
    _, token = await signed_in(client, domain, Role.AUDITOR)
    data = (await client.execute(EVENTS, {"filter": {"actorId": str(gone.id)}}, token=token)).ok()
    node = data["auditEvents"]["edges"][0]["node"]
    assert node["actor"] is None and node["target"] is None
    assert node["actorEmail"] == node["targetEmail"] == f"gone@{domain.name}"
    assert node["details"] == {"operation": "x"}


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"after": "not-a-cursor"}, "after"),
        ({"after": "WyJ1c2VyIiwiYSJd"}, "after"),  # a users cursor
        ({"filter": {"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"}}, "since"),
        ({"filter": {"actorId": "abc"}}, "actorId"),
        ({"filter": {"targetUserId": "99999999999"}}, "targetUserId"),
        ({"filter": {"jobId": "not-a-uuid"}}, "jobId"),
        ({"first": 501}, "first"),
    ],
)
async def test_bad_input_answers_bad_user_input(
    client: GraphQLClient, variables: dict[str, Any], field: str
) -> None:
    domain = await make_domain()
    _, token = await signed_in(client, domain, Role.AUDITOR)
    result = await client.execute(EVENTS, variables, token=token)
    assert result.code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"].get("field") == field
