import asyncio
from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError

from gql_portal.accounts.models import Session
from gql_portal.api.context import Info
from gql_portal.api.permissions import current_viewer
from gql_portal.bulk import services
from gql_portal.bulk.models import BulkJob
from gql_portal.bulk.types import BulkJobType
from gql_portal.clock import utcnow
from gql_portal.errors import PortalError, UnauthenticatedError

POLL_SECONDS = 0.5


def _snapshot(job: BulkJob) -> tuple[object, ...]:
    return (
        job.status,
        job.processed,
        job.changed,
        job.skipped,
        job.failed,
        job.total,
        job.cancel_requested,
        job.error,
    )


@strawberry.type
class BulkSubscriptions:
    @strawberry.subscription(
        description="The job now, then at every change of its progress, until it ends."
    )
    async def bulk_job(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[BulkJobType | None, None]:
        try:
            async for job in _watch(info, id):
                yield job
        except PortalError as error:
            # Subscription errors skip the ErrorCodes extension: give them their code here.
            raise GraphQLError(
                error.message, extensions={"code": error.code.value, **error.extensions}
            ) from None


async def _watch(info: Info, id: strawberry.ID) -> AsyncGenerator[BulkJobType, None]:
    viewer = current_viewer(info)
    job = await services.get_job(actor=viewer.user, job_id=str(id), meta=info.context.meta)
    seen = _snapshot(job)
    yield BulkJobType.from_model(job)
    # The job row is the truth, whichever process runs the job: poll it.
    while not job.is_final:
        await asyncio.sleep(POLL_SECONDS)
        live = await Session.filter(
            id=viewer.session.id, revoked_at=None, expires_at__gt=utcnow()
        ).exists()
        if not live:
            raise UnauthenticatedError("Invalid, expired or revoked token")
        job = await BulkJob.get(id=job.id)
        if _snapshot(job) != seen:
            seen = _snapshot(job)
            yield BulkJobType.from_model(job)
