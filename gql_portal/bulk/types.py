from datetime import datetime

import strawberry

from gql_portal.accounts.models import Role
from gql_portal.accounts.types import PageInfo, UserType
from gql_portal.api.context import Info
from gql_portal.api.permissions import visible_user
from gql_portal.bulk.models import BulkJob, BulkJobKind, BulkJobStatus
from gql_portal.bulk.preview import selection_includes, selection_sample
from gql_portal.bulk.selection import UserSelection
from gql_portal.two_factor.gate import TwoFactorState

strawberry.enum(BulkJobStatus, name="BulkJobStatus")
strawberry.enum(BulkJobKind, name="BulkJobKind")


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
    failed: int
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
            progress=job.progress,
            cancel_requested=job.cancel_requested,
            requested_by_email=job.requested_by_email,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            error=job.error,
            model=job,
        )

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
