import strawberry

from gql_portal.api.context import Info
from gql_portal.api.permissions import SystemAdmins, current_viewer
from gql_portal.scim import tokens
from gql_portal.scim.types import ScimTokenType


@strawberry.type
class ScimMutations:
    @strawberry.mutation(
        permission_classes=[SystemAdmins],
        description=(
            "A new SCIM token for /scim/v2 (Authorization: Bearer), shown this once: only "
            "its hash is kept. SYSTEM_ADMIN."
        ),
    )
    async def create_scim_token(self, info: Info, label: str) -> str:
        viewer = current_viewer(info)
        issued = await tokens.create_token(actor=viewer.user, label=label, meta=info.context.meta)
        return issued.token

    @strawberry.mutation(
        permission_classes=[SystemAdmins],
        description="The token stops working at once; revoking it again changes nothing.",
    )
    async def revoke_scim_token(self, info: Info, id: strawberry.ID) -> ScimTokenType:
        viewer = current_viewer(info)
        record = await tokens.revoke_token(
            actor=viewer.user, token_id=str(id), meta=info.context.meta
        )
        return ScimTokenType.from_model(record)
