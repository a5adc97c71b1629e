import strawberry
from starlette.requests import HTTPConnection

from gql_portal.api.context import Info
from gql_portal.api.permissions import DomainAdmins, SecurityAdmins, SystemAdmins, current_viewer
from gql_portal.bulk import services
from gql_portal.bulk.dispatch import JobDispatcher
from gql_portal.bulk.imports import start_import
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
            "Enable 2FA for many users (no filter: every active user of the domain). "
            "SECURITY_ADMIN; one running job per domain (JOB_CONFLICT). dryRun only counts "
            "the selection."
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
        permission_classes=[SystemAdmins],
        description=(
            "Import users from a CSV (header email,display_name,roles; roles separated by "
            "';'; at most 100,000 rows) as a bulk job of kind IMPORT_USERS: idempotent by "
            "email (an existing user is updated), refused rows in errors with their line. "
            "SYSTEM_ADMIN; one running job per domain (JOB_CONFLICT). dryRun decides every "
            "row's outcome and changes nothing; enableTwoFactor enables 2FA for the imported "
            "users. A whole-file fault is BAD_USER_INPUT with field csv (and line). Bodies "
            "over the usual limit go to POST /graphql/import (README: Importing users)."
        ),
    )
    async def import_users(
        self,
        info: Info,
        csv: str,
        dry_run: bool | None = False,
        enable_two_factor: bool | None = False,
    ) -> BulkJobType:
        viewer = current_viewer(info)
        job = await start_import(
            actor=viewer.user,
            domain_id=viewer.user.domain_id,
            csv_text=csv,
            dry_run=bool(dry_run),
            enable_two_factor=bool(enable_two_factor),
            meta=info.context.meta,
            dispatcher=request_dispatcher(info.context.request),
        )
        return BulkJobType.from_model(job)

    @strawberry.mutation(
        permission_classes=[DomainAdmins],
        description=(
            "A queued job ends at once; a running one stops between two chunks. Who may "
            "start a kind of job may cancel it (an import: SYSTEM_ADMIN)."
        ),
    )
    async def cancel_bulk_job(self, info: Info, id: strawberry.ID) -> BulkJobType:
        viewer = current_viewer(info)
        job = await services.cancel_job(actor=viewer.user, job_id=str(id), meta=info.context.meta)
        return BulkJobType.from_model(job)
