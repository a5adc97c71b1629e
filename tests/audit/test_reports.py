from datetime import UTC, datetime, timedelta

from gql_portal.accounts.models import Role
from gql_portal.clock import utcnow
from gql_portal.two_factor.models import TotpAuthenticator
from tests.audit.helpers import make_event, signed_in
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient

SUMMARY = """
query($bucket: TimeBucket!, $filter: AuditEventFilter) {
  auditSummary(bucket: $bucket, filter: $filter) { start action outcome count }
}
"""
ADOPTION = "query($days: Int) { twoFactorAdoption(days: $days) { day enabled enrolled } }"


async def test_summary_counts_per_bucket_action_and_outcome(client: GraphQLClient) -> None:
    domain, other = await make_domain(), await make_domain()
    base = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)
    for minutes, action, outcome in [
        (5, "LOGIN_FAILED", "FAILURE"),
        (50, "LOGIN_FAILED", "FAILURE"),
        (59, "LOGIN_SUCCEEDED", "SUCCESS"),
        (61, "LOGIN_FAILED", "FAILURE"),
        (60 * 20, "LOGIN_FAILED", "FAILURE"),
        (60 * 30, "LOGOUT", "SUCCESS"),
    ]:
        await make_event(
            domain, occurred_at=base + timedelta(minutes=minutes), action=action, outcome=outcome
        )
    await make_event(other, occurred_at=base, action="LOGIN_FAILED", outcome="FAILURE")
    _, token = await signed_in(client, domain, Role.AUDITOR)
    window = {"since": base.isoformat(), "until": (base + timedelta(days=2)).isoformat()}
    hours = await client.execute(SUMMARY, {"bucket": "HOUR", "filter": window}, token=token)
    assert hours.ok()["auditSummary"] == [
        {
            "start": "2030-03-05T16:00:00+00:00",
            "action": "LOGOUT",
            "outcome": "SUCCESS",
            "count": 1,
        },
        {
            "start": "2030-03-05T06:00:00+00:00",
            "action": "LOGIN_FAILED",
            "outcome": "FAILURE",
            "count": 1,
        },
        {
            "start": "2030-03-04T11:00:00+00:00",
            "action": "LOGIN_FAILED",
            "outcome": "FAILURE",
            "count": 1,
        },
        {
            "start": "2030-03-04T10:00:00+00:00",
            "action": "LOGIN_FAILED",
            "outcome": "FAILURE",
            "count": 2,
        },
        {
            "start": "2030-03-04T10:00:00+00:00",
            "action": "LOGIN_SUCCEEDED",
            "outcome": "SUCCESS",
            "count": 1,
        },
    ]
    days = await client.execute(
        SUMMARY, {"bucket": "DAY", "filter": {**window, "outcome": "FAILURE"}}, token=token
    )
    assert days.ok()["auditSummary"] == [
        {
            "start": "2030-03-05T00:00:00+00:00",
            "action": "LOGIN_FAILED",
            "outcome": "FAILURE",
            "count": 1,
        },
        {
            "start": "2030-03-04T00:00:00+00:00",
            "action": "LOGIN_FAILED",
            "outcome": "FAILURE",
            "count": 3,
        },
    ]
    _, plain = await signed_in(client, domain, Role.USER)
    refused = await client.execute(SUMMARY, {"bucket": "DAY"}, token=plain)
    assert refused.code == "FORBIDDEN"


async def test_adoption_series_walks_back_from_todays_counts(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    now = utcnow()
    users = [await make_user(domain, two_factor_enabled=True) for _ in range(3)]
    await TotpAuthenticator.create(user=users[0], secret_encrypted="x", confirmed_at=now)
    day = timedelta(days=1)
    for user, ago in ((users[0], 2), (users[1], 2), (users[2], 0)):
        await make_event(
            domain, action="USER_TWO_FACTOR_ENABLED", target_id=user.id, occurred_at=now - ago * day
        )
    await make_event(domain, action="TOTP_ENROLLED", target_id=users[0].id, occurred_at=now - day)
    await make_event(
        domain, action="USER_TWO_FACTOR_ENABLED", outcome="FAILURE", occurred_at=now - day
    )
    _, token = await signed_in(client, domain, Role.SECURITY_ADMIN)
    series = (await client.execute(ADOPTION, {"days": 4}, token=token)).ok()
    assert series["twoFactorAdoption"] == [
        {"day": (now - 3 * day).date().isoformat(), "enabled": 0, "enrolled": 0},
        {"day": (now - 2 * day).date().isoformat(), "enabled": 2, "enrolled": 0},
        {"day": (now - day).date().isoformat(), "enabled": 2, "enrolled": 1},
        {"day": now.date().isoformat(), "enabled": 3, "enrolled": 1},
    ]
    bad = await client.execute(ADOPTION, {"days": 0}, token=token)
    assert bad.code == "BAD_USER_INPUT"
