from tortoise import fields
from tortoise.models import Model

from gql_portal.accounts.models import Domain, User


class ScimToken(Model):
    # A domain's provisioning token for SCIM clients (Okta, Entra ID): shown once, only its
    # SHA-256 is stored, and it sees nothing outside its domain.

    id = fields.IntField(primary_key=True)
    domain: fields.ForeignKeyRelation[Domain] = fields.ForeignKeyField(
        "models.Domain", related_name="scim_tokens", on_delete=fields.CASCADE
    )
    label = fields.CharField(max_length=100)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_email = fields.CharField(max_length=320, null=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    domain_id: int
    created_by_id: int | None

    class Meta:
        table = "scim_tokens"
        indexes = (("domain_id", "created_at"),)
