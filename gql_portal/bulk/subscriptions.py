import asyncio
from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError
from starlette.websockets import WebSocket

from gql_portal.accounts.sessions import require_authenticated, resolve_viewer_by_hash
from gql_portal.api.context import Info
from gql_portal.api.permissions import current_viewer
from gql_portal.bulk import services
from gql_portal.bulk.models import BulkJob
from gql_portal.bulk.types import BulkJobType
from gql_portal.errors import BadUserInputError, PortalError

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
    if not isinstance(info.context.request, WebSocket):
        raise BadUserInputError("Subscriptions need a WebSocket (graphql-transport-ws)")
    viewer = current_viewer(info)
    job = await services.get_job(actor=viewer.user, job_id=str(id), meta=info.context.meta)
    seen = _snapshot(job)
    yield BulkJobType.from_model(job)
    # The job row is the truth, whichever process runs the job: poll it.
    while not job.is_final:
        await asyncio.sleep(POLL_SECONDS)
        # The session as it is now: logged out, reset, expired or sent through the 2FA
        # gate since the subscription started all end it.
        viewer = require_authenticated(await resolve_viewer_by_hash(viewer.session.token_hash))
        job = await BulkJob.get(id=job.id)
        if _snapshot(job) != seen:
            seen = _snapshot(job)
            yield BulkJobType.from_model(job)
