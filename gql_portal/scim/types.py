from datetime import datetime

import strawberry

from gql_portal.scim.models import ScimToken


@strawberry.type(
    name="ScimToken",
    description="A SCIM provisioning token of the domain; its value is shown only at creation.",
)
class ScimTokenType:
    id: strawberry.ID
    label: str
    created_at: datetime
    created_by_email: str | None
    last_used_at: datetime | None = strawberry.field(
        description="To the minute: identity providers call in bursts."
    )
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, token: ScimToken) -> "ScimTokenType":
        return cls(
            id=strawberry.ID(str(token.id)),
            label=token.label,
            created_at=token.created_at,
            created_by_email=token.created_by_email,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )
