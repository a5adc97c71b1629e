"""A bulk job's audit events go through the one audit writer: cleaned and cut like any other
event, and carrying the ip and request id of the request that started it (a cancel carries
the cancelling request's: tests/bulk/test_api.py)."""

from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from tortoise.transactions import in_transaction

from gql_portal.accounts.models import PasswordSecurityRules, Role
from gql_portal.audit.chain import seal_chain, verify_chain
from gql_portal.audit.models import AuditEvent
from gql_portal.bulk.chunk import enable_chunk
from gql_portal.bulk.models import BulkJob
from gql_portal.clock import utcnow
from tests.bulk.api import START, sign_in
from tests.bulk.helpers import make_many_users
from tests.bulk.test_api import _dispatcher
from tests.factories import make_domain
from tests.graphql import GraphQLClient

CLIENT_IP = "203.0.113.7"  # the test transport's peer
EVENTS_BY_IP = """
query Events($ip: String!) {
  auditEvents(first: 500, filter: {ip: $ip}) {
    edges { node { action ip userAgent requestId jobId } }
  }
}
"""
AGENT = "agent\x00" + "x" * 1000
STORED_AGENT = ("agent\ufffd" + "x" * 1000)[:400]


async def _events_from(client: GraphQLClient, token: str, ip: str) -> list[dict[str, Any]]:
    result = await client.execute(EVENTS_BY_IP, {"ip": ip}, token=token)
    return [edge["node"] for edge in result.ok()["auditEvents"]["edges"]]


async def test_the_ip_filter_finds_every_event_of_a_job_started_from_that_ip(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    await make_many_users(domain, 3)
    headers = {"X-Request-ID": "req-bulk-start-1", "User-Agent": AGENT}
    result = await client.execute(
        START, {"filter": {"roles": ["USER"]}}, token=token, headers=headers
    )
    job_id = result.ok()["startBulkTwoFactorEnablement"]["id"]
    await _dispatcher(app).drain()
    job = await BulkJob.get(id=job_id)
    assert job.status == "SUCCEEDED"
    # Stored on the job as an event stores it (PostgreSQL refuses NUL and long values).
    assert (job.request_ip, job.request_id, job.request_user_agent) == (
        CLIENT_IP,
        "req-bulk-start-1",
        STORED_AGENT,
    )

    found = [event for event in await _events_from(client, token, CLIENT_IP) if event["jobId"]]
    assert sorted(event["action"] for event in found) == [
        "BULK_JOB_FINISHED",
        "BULK_JOB_STARTED",
        *["USER_TWO_FACTOR_ENABLED"] * 3,
    ]
    assert {(event["jobId"], event["requestId"], event["userAgent"]) for event in found} == {
        (job_id, "req-bulk-start-1", STORED_AGENT)
    }
    assert not [e for e in await _events_from(client, token, "198.51.100.99") if e["jobId"]]

    assert await seal_chain(domain.id, settle=timedelta(0)) > 0
    report = await verify_chain(domain.id)
    assert report.intact and report.unsealed == 0, report


async def test_runner_events_are_cleaned_and_cut_like_any_other() -> None:
    """Whatever a job row holds, the chunk's set-based INSERT cleans and cuts it as the
    single-event writer does."""
    domain = await make_domain(two_factor=True)
    ids = await make_many_users(domain, 2)
    job = await BulkJob.create(
        domain_id=domain.id, status="QUEUED", active_domain_id=domain.id, created_at=utcnow()
    )
    job.request_user_agent = AGENT
    job.request_id = "r\x00" + "9" * 100
    job.request_ip = "ip\x00" + "1" * 100
    job.requested_by_email = "boss\x00@" + "e" * 400
    rules = await PasswordSecurityRules.get(domain_id=domain.id)
    async with in_transaction() as connection:
        assert await enable_chunk(job, rules, ids, utcnow(), connection) == 2
    events = await AuditEvent.filter(job_id=job.id).order_by("id")
    assert len(events) == 2
    for event in events:
        assert event.user_agent == STORED_AGENT
        assert event.request_id == ("r\ufffd" + "9" * 100)[:64]
        assert event.ip == ("ip\ufffd" + "1" * 100)[:45]
        assert event.actor_email == ("boss\ufffd@" + "e" * 400)[:320]
