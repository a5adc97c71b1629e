from collections.abc import AsyncIterator

import httpx
import pytest

from gql_portal.accounts.models import Role
from gql_portal.app import create_app
from gql_portal.audit.models import AuditEvent
from gql_portal.bulk.models import BulkJob
from gql_portal.settings import Settings
from tests.bulk.api import JOBS, START, sign_in
from tests.factories import make_domain
from tests.graphql import GraphQLClient

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
async def client_without_queue() -> AsyncIterator[GraphQLClient]:
    # Nothing listens on port 1: the connection is refused at once.
    app = create_app(Settings(redis_url="redis://127.0.0.1:1/0"), manage_database=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)
    await app.state.bulk_dispatcher.close()


async def test_a_dead_redis_answers_queue_unavailable_and_blocks_nothing(
    client_without_queue: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client_without_queue, domain, Role.SECURITY_ADMIN)
    for _ in range(2):  # the second start is not a JOB_CONFLICT: the first released the domain
        result = await client_without_queue.execute(START, token=token)
        assert result.code == "QUEUE_UNAVAILABLE"
    jobs = await BulkJob.filter(domain_id=domain.id)
    assert len(jobs) == 2
    assert {(job.status, job.active_domain_id) for job in jobs} == {("FAILED", None)}
    assert all(job.error == "The job queue is unavailable, try again later" for job in jobs)
    finished = await AuditEvent.filter(action="BULK_JOB_FINISHED", outcome="FAILURE").count()
    assert finished == 2
    # The rest of the API keeps working, and a dry run needs no queue.
    listed = (await client_without_queue.execute(JOBS, token=token)).ok()
    assert len(listed["bulkJobs"]["edges"]) == 2
    dry = await client_without_queue.execute(START, {"dryRun": True}, token=token)
    assert dry.ok()["startBulkTwoFactorEnablement"]["status"] == "SUCCEEDED"
