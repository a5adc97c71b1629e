from enum import StrEnum
from functools import lru_cache

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    USER = "USER"
    SECURITY_ADMIN = "SECURITY_ADMIN"
    SYSTEM_ADMIN = "SYSTEM_ADMIN"
    AUDITOR = "AUDITOR"


def encode_roles(roles: "set[Role] | list[Role]") -> str:
    """Roles are stored as ``,A,B,`` so one role is a portable ``LIKE '%,A,%'`` filter."""
    ordered = sorted({Role(role) for role in roles}, key=list(Role).index)
    return "," + ",".join(role.value for role in ordered) + ","


def decode_roles(stored: str) -> list[Role]:
    return list(_decoded_roles(stored))


@lru_cache(maxsize=256)
def _decoded_roles(stored: str) -> tuple[Role, ...]:
    # Every request decodes its viewer's roles; there are only a few combinations.
    return tuple(Role(part) for part in stored.strip(",").split(",") if part)


class Domain(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=253, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "domains"


class PasswordSecurityRules(Model):
    id = fields.IntField(primary_key=True)
    domain: fields.OneToOneRelation[Domain] = fields.OneToOneField(
        "models.Domain", related_name="rules", on_delete=fields.CASCADE
    )
    two_factor_enabled = fields.BooleanField(default=False)
    enrollment_grace_period_hours = fields.IntField(default=0)
    min_password_length = fields.IntField(default=12)
    audit_retention_days = fields.IntField(default=365)
    # Reminders and job summaries (CONTRACT section 11); security messages are always sent.
    optional_notifications_enabled = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(null=True)
    updated_by: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    domain_id: int
    updated_by_id: int | None

    class Meta:
        table = "password_security_rules"


class User(Model):
    id = fields.IntField(primary_key=True)
    domain: fields.ForeignKeyRelation[Domain] = fields.ForeignKeyField(
        "models.Domain", related_name="users", on_delete=fields.CASCADE
    )
    email = fields.CharField(max_length=320)
    email_normalized = fields.CharField(max_length=320, db_index=True)
    display_name = fields.CharField(max_length=200, default="")
    roles = fields.CharField(max_length=100, default=",USER,")
    # "" = no password yet (an invited user): no password matches it.
    password_hash = fields.CharField(max_length=255)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Any change to what SCIM shows (meta.lastModified); NULL = never changed since created.
    updated_at = fields.DatetimeField(null=True)
    last_login_at = fields.DatetimeField(null=True)
    password_changed_at = fields.DatetimeField(null=True)
    # A deactivated user cannot log in; their 2FA settings are kept (CONTRACT section 10).
    active = fields.BooleanField(default=True)
    deactivated_at = fields.DatetimeField(null=True)
    # The identity provider's own id for the user (SCIM externalId).
    external_id = fields.CharField(max_length=255, null=True)

    two_factor_enabled = fields.BooleanField(default=False)
    two_factor_enabled_at = fields.DatetimeField(null=True)
    enrollment_deadline = fields.DatetimeField(null=True)
    # The code-step throttle: shared by every session and process because it lives here.
    code_failures = fields.IntField(default=0)
    code_locked_until = fields.DatetimeField(null=True)

    domain_id: int

    class Meta:
        table = "users"
        unique_together = (("domain", "email_normalized"),)
        # (domain_id, id): keyset walks of a domain (bulk jobs) are range scans, not sorts.
        indexes = (
            ("domain_id", "two_factor_enabled"),
            ("domain_id", "id"),
            # users(filter: {active}) and SCIM's `active eq` walk a domain's (in)active users.
            ("domain_id", "active", "id"),
            ("domain_id", "external_id"),
        )

    @property
    def role_list(self) -> list[Role]:
        return decode_roles(self.roles)

    def has_any_role(self, *roles: Role) -> bool:
        return any(role in self.role_list for role in roles)


class Session(Model):
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    issued_pending = fields.BooleanField(default=False)
    second_factor_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    ip = fields.CharField(max_length=45, null=True)
    user_agent = fields.CharField(max_length=400, null=True)

    user_id: int

    class Meta:
        table = "sessions"
        indexes = (("user_id", "revoked_at"),)


class LoginThrottle(Model):
    # Failed password logins per email, whether an account exists or not. Keyed by
    # crypto.keyed_identifier of the normalised email: people type passwords into the
    # email field, so the typed text is never stored.

    key = fields.CharField(max_length=64, primary_key=True)
    failures = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    # Attempts refused while locked: the lock window's one audit event is written at the first.
    refused = fields.IntField(default=0)
    # When the row means nothing any more (its lock ran out, or its count was forgotten):
    # the maintenance purges from here.
    expires_at = fields.DatetimeField(db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "login_throttles"


class LoginIpThrottle(Model):
    # Failed password logins per client IP in a fixed window (password spraying).

    ip = fields.CharField(max_length=45, primary_key=True)
    failures = fields.IntField(default=0)
    # The window's end: the count restarts after it, and the maintenance purges from it.
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "login_ip_throttles"


class LinkThrottle(Model):
    # Fixed-window counters of the account-link paths (accounts/link_throttle.py): reset
    # requests per email and per client IP, bad link tokens per client IP. Keyed by
    # crypto.keyed_identifier of "<scope>:<value>", so no typed text is stored.

    key = fields.CharField(max_length=64, primary_key=True)
    count = fields.IntField(default=0)
    # The window's end: the count restarts after it, and the maintenance purges from it.
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "link_throttles"


class AccountLinkPurpose(StrEnum):
    INVITATION = "INVITATION"
    PASSWORD_RESET = "PASSWORD_RESET"


class AccountLink(Model):
    # A single-use link mailed to a user (an invitation or a password reset): only the
    # SHA-256 of its 256-bit token is stored.

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="account_links", on_delete=fields.CASCADE
    )
    purpose = fields.CharField(max_length=20)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    user_id: int

    class Meta:
        table = "account_links"
        indexes = (("user_id", "purpose"),)
