import asyncio

from starlette.applications import Starlette

from gql_portal.accounts.models import Role, User
from gql_portal.audit.models import AuditEvent
from gql_portal.bulk.dispatch import InProcessDispatcher
from gql_portal.bulk.models import BulkJob
from gql_portal.clock import utcnow
from tests.bulk.api import CANCEL, JOB, JOBS, START, sign_in
from tests.bulk.helpers import enabled_event_counts, make_many_users
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient

DOMAIN_QUERY = "{ domain { id } }"


def _dispatcher(app: Starlette) -> InProcessDispatcher:
    dispatcher = app.state.bulk_dispatcher
    assert isinstance(dispatcher, InProcessDispatcher), "tests run without GQL_PORTAL_REDIS_URL"
    return dispatcher


async def test_without_redis_the_api_runs_the_job_in_process(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    ids = await make_many_users(domain, 2500)
    # Everyone but the admin, whose own session would otherwise meet the gate.
    variables = {"filter": {"roles": ["USER"]}}
    result = await client.execute(START, variables, token=token)
    started = result.ok()["startBulkTwoFactorEnablement"]
    assert started["status"] in {"QUEUED", "RUNNING"} and started["total"] == 2500
    assert started["filter"] == {"roles": ["USER"], "userIds": None, "twoFactorStates": None}
    await _dispatcher(app).drain()
    job = (await client.execute(JOB, {"id": started["id"]}, token=token)).ok()["bulkJob"]
    assert job["status"] == "SUCCEEDED" and job["progress"] == 1.0
    assert (job["processed"], job["changed"], job["skipped"]) == (2500, 2500, 0)
    assert job["requestedBy"]["email"] == job["requestedByEmail"]
    counts = await enabled_event_counts(started["id"])
    assert set(counts) == set(ids) and set(counts.values()) == {1}
    started_event = await AuditEvent.get(job_id=started["id"], action="BULK_JOB_STARTED")
    assert started_event.actor_email == job["requestedByEmail"]


async def test_users_enabled_by_a_job_meet_the_gate_at_their_next_request(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    user = await make_user(domain)
    session = (await client.login(user.email, PASSWORD))["token"]
    assert not (await client.execute(DOMAIN_QUERY, token=session)).errors
    variables = {"filter": {"userIds": [str(user.id)]}}
    (await client.execute(START, variables, token=token)).ok()
    await _dispatcher(app).drain()
    assert (await client.execute(DOMAIN_QUERY, token=session)).code == "TWO_FACTOR_REQUIRED"
    me = (await client.execute("{ me { twoFactor { state } } }", token=session)).ok()
    assert me["me"]["twoFactor"]["state"] == "PENDING_ENROLLMENT"


async def test_dry_run_counts_and_changes_nothing(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    await make_many_users(domain, 12)
    await make_many_users(domain, 3, roles=[Role.AUDITOR], prefix="aud")
    variables = {"filter": {"roles": ["AUDITOR"]}, "dryRun": True}
    job = (await client.execute(START, variables, token=token)).ok()["startBulkTwoFactorEnablement"]
    assert (job["status"], job["dryRun"], job["total"], job["changed"]) == ("SUCCEEDED", True, 3, 0)
    assert job["filter"]["roles"] == ["AUDITOR"]
    assert not await User.filter(two_factor_enabled=True).exists()
    assert not await AuditEvent.filter(job_id=job["id"]).exists()
    # A dry run holds no lock: a real job may start right after it.
    assert (await client.execute(START, {"dryRun": True}, token=token)).ok()


async def test_a_second_start_while_a_job_is_active_is_a_conflict(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    running = await BulkJob.create(
        domain_id=domain.id,
        status="RUNNING",
        active_domain_id=domain.id,
        created_at=utcnow(),
        heartbeat_at=utcnow(),
    )
    result = await client.execute(START, token=token)
    assert result.code == "JOB_CONFLICT"
    assert await BulkJob.filter(domain_id=domain.id).count() == 1
    # Another domain is not blocked.
    other = await make_domain(two_factor=True)
    other_admin = await sign_in(client, other, Role.SECURITY_ADMIN)
    assert (await client.execute(START, token=other_admin)).ok()
    await _dispatcher(app).drain()
    assert (await BulkJob.get(id=running.id)).status == "RUNNING"


async def test_a_stale_queued_job_is_resumed_not_left_blocking(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    lost = await BulkJob.create(
        domain_id=domain.id,
        status="QUEUED",
        active_domain_id=domain.id,
        created_at=utcnow().replace(year=2020),
        user_filter={"roles": ["USER"]},
    )
    user = await make_user(domain)
    assert (await client.execute(START, token=token)).code == "JOB_CONFLICT"
    await _dispatcher(app).drain()
    lost = await BulkJob.get(id=lost.id)
    assert lost.status == "SUCCEEDED" and lost.active_domain_id is None
    assert (await enabled_event_counts(lost.id)) == {user.id: 1}
    assert (await client.execute(START, {"filter": {"roles": ["USER"]}}, token=token)).ok()
    await _dispatcher(app).drain()


async def test_cancel_a_queued_job_ends_it_at_once(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    queued = await BulkJob.create(
        domain_id=domain.id,
        status="QUEUED",
        active_domain_id=domain.id,
        created_at=utcnow(),
        total=5,
    )
    headers = {"X-Request-ID": "req-bulk-cancel-1"}
    cancelled = await client.execute(CANCEL, {"id": str(queued.id)}, token=token, headers=headers)
    job = cancelled.ok()["cancelBulkJob"]
    assert (job["status"], job["cancelRequested"]) == ("CANCELLED", True)
    assert (await BulkJob.get(id=queued.id)).active_domain_id is None
    again = (await client.execute(CANCEL, {"id": str(queued.id)}, token=token)).ok()
    assert again["cancelBulkJob"]["status"] == "CANCELLED"
    event = await AuditEvent.get(job_id=queued.id, action="BULK_JOB_CANCELLED")
    # The cancelling request's ip and id: the auditEvents ip filter finds it.
    assert (event.ip, event.request_id) == ("203.0.113.7", "req-bulk-cancel-1")


async def test_roles_domains_and_the_switch(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    admin = await sign_in(client, domain, Role.SECURITY_ADMIN)
    job = (await client.execute(START, {"dryRun": True}, token=admin)).ok()
    job_id = job["startBulkTwoFactorEnablement"]["id"]
    for role in (Role.USER, Role.SYSTEM_ADMIN, Role.AUDITOR):
        token = await sign_in(client, domain, role)
        assert (await client.execute(START, token=token)).code == "FORBIDDEN"
        assert (await client.execute(CANCEL, {"id": job_id}, token=token)).code == "FORBIDDEN"
        read = await client.execute(JOB, {"id": job_id}, token=token)
        if role is Role.USER:
            assert read.code == "FORBIDDEN"
        else:
            assert read.ok()["bulkJob"]["id"] == job_id
    denied = await AuditEvent.filter(action="ACCESS_DENIED").count()
    assert denied == 3 * 2 + 1
    outsider = await sign_in(client, await make_domain(two_factor=True), Role.SECURITY_ADMIN)
    for document in (JOB, CANCEL):
        assert (await client.execute(document, {"id": job_id}, token=outsider)).code == "NOT_FOUND"
    assert (await client.execute(JOB, {"id": "nope"}, token=outsider)).code == "NOT_FOUND"
    off = await sign_in(client, await make_domain(), Role.SECURITY_ADMIN)
    result = await client.execute(START, token=off)
    assert result.code == "TWO_FACTOR_NOT_AVAILABLE"
    assert result.errors[0]["message"] == "Two-Factor Authentication not available"
    empty = await client.execute(START, {"filter": {"userIds": []}}, token=admin)
    assert empty.code == "BAD_USER_INPUT"
    assert (await client.execute(START, token=None)).code == "UNAUTHENTICATED"


async def test_bulk_jobs_pages_newest_first(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    created = []
    for _ in range(5):
        job = (await client.execute(START, {"dryRun": True}, token=token)).ok()
        created.append(job["startBulkTwoFactorEnablement"]["id"])
        await asyncio.sleep(0.002)
    await BulkJob.create(domain_id=(await make_domain()).id, created_at=utcnow(), status="FAILED")
    seen: list[str] = []
    after = None
    while True:
        page = (await client.execute(JOBS, {"first": 2, "after": after}, token=token)).ok()
        seen += [edge["node"]["id"] for edge in page["bulkJobs"]["edges"]]
        if not page["bulkJobs"]["pageInfo"]["hasNextPage"]:
            break
        after = page["bulkJobs"]["pageInfo"]["endCursor"]
    assert seen == created[::-1]
    bad = await client.execute(JOBS, {"after": "garbage"}, token=token)
    assert bad.code == "BAD_USER_INPUT"


async def test_dry_run_null_is_the_default_false(client: GraphQLClient, app: Starlette) -> None:
    # CONTRACT section 4: `dryRun: Boolean = false`, a nullable argument.
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    users = await make_many_users(domain, 4)
    variables = {"filter": {"roles": ["USER"]}, "dryRun": None}
    job = (await client.execute(START, variables, token=token)).ok()["startBulkTwoFactorEnablement"]
    assert job["dryRun"] is False
    await _dispatcher(app).drain()
    assert await User.filter(id__in=users, two_factor_enabled=True).count() == 4
