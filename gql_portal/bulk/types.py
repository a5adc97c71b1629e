from datetime import datetime
from uuid import UUID

import strawberry

from gql_portal.accounts.models import Role
from gql_portal.accounts.types import PageInfo, UserType
from gql_portal.api.context import Info
from gql_portal.api.permissions import visible_user
from gql_portal.bulk.import_rows import ImportRowView, require_first, rows_of_jobs
from gql_portal.bulk.models import BulkJob, BulkJobKind, BulkJobStatus, ImportRowOutcome
from gql_portal.bulk.preview import selection_includes, selection_sample
from gql_portal.bulk.selection import UserSelection
from gql_portal.two_factor.gate import TwoFactorState

strawberry.enum(BulkJobStatus, name="BulkJobStatus")
strawberry.enum(BulkJobKind, name="BulkJobKind")
strawberry.enum(ImportRowOutcome, name="ImportRowOutcome")


@strawberry.type(name="ImportRow", description="One data row of an import CSV.")
class ImportRowType:
    line: int = strawberry.field(description="As a spreadsheet numbers it: the header is 1.")
    email: str
    display_name: str = strawberry.field(
        description="Empty: a new user gets none, an existing one keeps theirs."
    )
    roles: list[Role] = strawberry.field(
        description="Empty: a new user gets USER, an existing one keeps theirs."
    )
    outcome: ImportRowOutcome | None = strawberry.field(
        description="What the row did (a dry run: would do); null until the job reaches it."
    )
    error: str | None = strawberry.field(description="Why a REFUSED row was refused.")

    @classmethod
    def from_view(cls, row: ImportRowView) -> "ImportRowType":
        return cls(
            line=row.line,
            email=row.email,
            display_name=row.display_name,
            roles=row.roles,
            outcome=row.outcome,
            error=row.error,
        )


@strawberry.type(name="BulkJobError", description="A refused row of an import.")
class BulkJobErrorType:
    line: int
    email: str | None
    reason: str


@strawberry.input(description="Combined with AND; omit a field to select without it.")
class BulkUserFilter:
    roles: list[Role] | None = strawberry.field(
        default=None, description="Users holding any of these roles."
    )
    user_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="At most 10,000 ids; ids of other domains select nothing."
    )
    two_factor_states: list[TwoFactorState] | None = strawberry.field(
        default=None, description="Users in any of these states when the job reaches them."
    )


@strawberry.type(name="BulkJobFilter", description="The selection a bulk job was started with.")
class BulkJobFilterType:
    roles: list[Role] | None
    user_ids: list[strawberry.ID] | None
    two_factor_states: list[TwoFactorState] | None

    @classmethod
    def from_selection(cls, selection: UserSelection) -> "BulkJobFilterType":
        return cls(
            roles=list(selection.roles) if selection.roles is not None else None,
            user_ids=(
                [strawberry.ID(str(user_id)) for user_id in selection.user_ids]
                if selection.user_ids is not None
                else None
            ),
            two_factor_states=(
                list(selection.two_factor_states)
                if selection.two_factor_states is not None
                else None
            ),
        )


@strawberry.type(name="BulkJob")
class BulkJobType:
    id: strawberry.ID
    kind: BulkJobKind
    status: BulkJobStatus
    filter: BulkJobFilterType
    dry_run: bool = strawberry.field(
        description="A dry run only counts: total is the number of users selected."
    )
    total: int = strawberry.field(
        description="Users selected: counted at the start, exact at the end."
    )
    processed: int
    changed: int = strawberry.field(description="Users whose 2FA this job enabled.")
    skipped: int = strawberry.field(description="Selected users that already had 2FA enabled.")
    failed: int = strawberry.field(description="Import rows refused (see errors).")
    created: int = strawberry.field(description="Import rows that created a user (dry run: would).")
    updated: int = strawberry.field(description="Import rows that updated a user (dry run: would).")
    progress: float = strawberry.field(description="processed / total, from 0 to 1.")
    cancel_requested: bool
    requested_by_email: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    model: strawberry.Private[BulkJob]

    @classmethod
    def from_model(cls, job: BulkJob) -> "BulkJobType":
        return cls(
            id=strawberry.ID(str(job.id)),
            kind=BulkJobKind(job.kind),
            status=BulkJobStatus(job.status),
            filter=BulkJobFilterType.from_selection(UserSelection.from_json(job.user_filter)),
            dry_run=job.dry_run,
            total=job.total,
            processed=job.processed,
            changed=job.changed,
            skipped=job.skipped,
            failed=job.failed,
            created=job.created,
            updated=job.updated,
            progress=job.progress,
            cancel_requested=job.cancel_requested,
            requested_by_email=job.requested_by_email,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            error=job.error,
            model=job,
        )

    async def _rows(
        self, info: Info, first: int | None, outcomes: list[ImportRowOutcome] | None
    ) -> list[ImportRowView]:
        limit = require_first(first)
        chosen = tuple(outcomes) if outcomes is not None else None

        async def load(job_ids: list[UUID]) -> list[list[ImportRowView]]:
            return await rows_of_jobs(job_ids, first=limit, outcomes=chosen)

        loader = info.context.loaders.for_selection(("importRows", limit, chosen), load)
        rows: list[ImportRowView] = await loader.load(self.model.id)
        return rows

    @strawberry.field(description="Refused import rows in line order (empty for enablement).")
    async def errors(self, info: Info, first: int | None = 100) -> list[BulkJobErrorType]:
        rows = await self._rows(info, first, [ImportRowOutcome.REFUSED])
        return [
            BulkJobErrorType(line=row.line, email=row.email or None, reason=row.error or "")
            for row in rows
        ]

    @strawberry.field(
        description=(
            "An import's rows in line order, with what each did (a dry run: would do); "
            "outcomes narrows them. At most 1,000."
        )
    )
    async def import_rows(
        self,
        info: Info,
        first: int | None = 100,
        outcomes: list[ImportRowOutcome] | None = None,
    ) -> list[ImportRowType]:
        rows = await self._rows(info, first, outcomes)
        return [ImportRowType.from_view(row) for row in rows]

    @strawberry.field(description="Null when started from the command line or user deleted.")
    async def requested_by(self, info: Info) -> UserType | None:
        user = await visible_user(info, self.model.requested_by_id)
        from gql_portal.accounts.presenters import present_optional_user

        return await present_optional_user(info, user)

    @strawberry.field(
        description="Dry runs only: whether the selection, applied now, includes the viewer."
    )
    async def includes_viewer(self, info: Info) -> bool | None:
        viewer = info.context.viewer
        if (
            not self.model.dry_run
            or viewer is None
            or viewer.user.domain_id != self.model.domain_id
        ):
            return None
        return await selection_includes(self.model, viewer.rules, viewer.user.id)

    @strawberry.field(description="Dry runs only: up to 5 of the users the selection holds now.")
    async def sample(self, info: Info) -> list[UserType] | None:
        viewer = info.context.viewer
        if (
            not self.model.dry_run
            or viewer is None
            or viewer.user.domain_id != self.model.domain_id
        ):
            return None
        from gql_portal.accounts.presenters import present_users

        return await present_users(info, await selection_sample(self.model, viewer.rules))


@strawberry.type(name="BulkJobEdge")
class BulkJobEdge:
    cursor: str
    node: BulkJobType


@strawberry.type(name="BulkJobConnection")
class BulkJobConnection:
    edges: list[BulkJobEdge]
    page_info: PageInfo
