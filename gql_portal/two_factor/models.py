from tortoise import fields
from tortoise.models import Model

from gql_portal.accounts.models import User


class TotpAuthenticator(Model):
    # A confirmed authenticator; last_used_step is its replay guard.

    id = fields.IntField(primary_key=True)
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "models.User", related_name="authenticator", on_delete=fields.CASCADE
    )
    secret_encrypted = fields.TextField()
    confirmed_at = fields.DatetimeField()
    last_used_step = fields.BigIntField(default=-1)

    user_id: int

    class Meta:
        table = "totp_authenticators"


class TotpEnrollment(Model):
    # An unconfirmed secret: replaced by every new enrollment, gone on confirmation.

    id = fields.IntField(primary_key=True)
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "models.User", related_name="pending_enrollment", on_delete=fields.CASCADE
    )
    secret_encrypted = fields.TextField()
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    user_id: int

    class Meta:
        table = "totp_enrollments"


class RecoveryCode(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="recovery_codes", on_delete=fields.CASCADE
    )
    code_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "recovery_codes"
        unique_together = (("user", "code_hash"),)
