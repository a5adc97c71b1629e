import strawberry
from starlette.requests import HTTPConnection

from gql_portal.api.context import Info
from gql_portal.api.permissions import SecurityAdmins, current_viewer
from gql_portal.bulk import services
from gql_portal.bulk.dispatch import JobDispatcher
from gql_portal.bulk.selection import build_selection
from gql_portal.bulk.types import BulkJobType, BulkUserFilter


def request_dispatcher(connection: HTTPConnection) -> JobDispatcher:
    dispatcher: JobDispatcher = connection.app.state.bulk_dispatcher
    return dispatcher


@strawberry.type
class BulkMutations:
    @strawberry.mutation(
        permission_classes=[SecurityAdmins],
        description=(
            "Enable 2FA for many users (no filter: every user of the domain). SECURITY_ADMIN; "
            "one running job per domain (JOB_CONFLICT). dryRun only counts the selection."
        ),
    )
    async def start_bulk_two_factor_enablement(
        self, info: Info, filter: BulkUserFilter | None = None, dry_run: bool | None = False
    ) -> BulkJobType:
        viewer = current_viewer(info)
        chosen = filter or BulkUserFilter()
        selection = build_selection(
            roles=chosen.roles,
            user_ids=[str(user_id) for user_id in chosen.user_ids]
            if chosen.user_ids is not None
            else None,
            two_factor_states=chosen.two_factor_states,
        )
        job = await services.start_job(
            actor=viewer.user,
            domain_id=viewer.user.domain_id,
            selection=selection,
            dry_run=bool(dry_run),  # CONTRACT: `dryRun: Boolean = false`, so null is false
            meta=info.context.meta,
            dispatcher=request_dispatcher(info.context.request),
        )
        return BulkJobType.from_model(job)

    @strawberry.mutation(
        permission_classes=[SecurityAdmins],
        description="A queued job ends at once; a running one stops between two chunks.",
    )
    async def cancel_bulk_job(self, info: Info, id: strawberry.ID) -> BulkJobType:
        viewer = current_viewer(info)
        job = await services.cancel_job(actor=viewer.user, job_id=str(id), meta=info.context.meta)
        return BulkJobType.from_model(job)
