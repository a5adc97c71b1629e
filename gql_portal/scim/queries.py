import strawberry

from gql_portal.api.context import Info
from gql_portal.api.permissions import SystemAdmins, current_viewer
from gql_portal.scim import tokens
from gql_portal.scim.types import ScimTokenType


@strawberry.type
class ScimQueries:
    @strawberry.field(
        permission_classes=[SystemAdmins],
        description="The domain's SCIM tokens, revoked ones included, newest first. SYSTEM_ADMIN.",
    )
    async def scim_tokens(self, info: Info) -> list[ScimTokenType]:
        viewer = current_viewer(info)
        records = await tokens.list_tokens(actor=viewer.user, meta=info.context.meta)
        return [ScimTokenType.from_model(record) for record in records]
