import strawberry

from gql_portal.accounts.types import PageInfo
from gql_portal.api.context import Info
from gql_portal.api.permissions import FullyAuthenticated, current_viewer
from gql_portal.bulk import services
from gql_portal.bulk.types import BulkJobConnection, BulkJobEdge, BulkJobType


@strawberry.type
class BulkQueries:
    @strawberry.field(permission_classes=[FullyAuthenticated])
    async def bulk_job(self, info: Info, id: strawberry.ID) -> BulkJobType | None:
        viewer = current_viewer(info)
        job = await services.get_job(actor=viewer.user, job_id=str(id), meta=info.context.meta)
        return BulkJobType.from_model(job)

    @strawberry.field(permission_classes=[FullyAuthenticated], description="Newest first.")
    async def bulk_jobs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> BulkJobConnection:
        viewer = current_viewer(info)
        page = await services.list_jobs(
            actor=viewer.user, first=first, after=after, meta=info.context.meta
        )
        return BulkJobConnection(
            edges=[
                BulkJobEdge(cursor=cursor, node=BulkJobType.from_model(job))
                for job, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page.cursors, page.has_next_page),
        )
