from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class AuditAction(StrEnum):
    LOGIN_SUCCEEDED = "LOGIN_SUCCEEDED"
    LOGIN_FAILED = "LOGIN_FAILED"
    LOGOUT = "LOGOUT"
    DOMAIN_TWO_FACTOR_ENABLED = "DOMAIN_TWO_FACTOR_ENABLED"
    DOMAIN_TWO_FACTOR_DISABLED = "DOMAIN_TWO_FACTOR_DISABLED"
    PASSWORD_RULES_UPDATED = "PASSWORD_RULES_UPDATED"
    USER_CREATED = "USER_CREATED"
    USER_UPDATED = "USER_UPDATED"
    USER_DEACTIVATED = "USER_DEACTIVATED"
    USER_REACTIVATED = "USER_REACTIVATED"
    USER_LOGIN_UNLOCKED = "USER_LOGIN_UNLOCKED"
    USER_TWO_FACTOR_ENABLED = "USER_TWO_FACTOR_ENABLED"
    USER_TWO_FACTOR_DISABLED = "USER_TWO_FACTOR_DISABLED"
    USER_TWO_FACTOR_RESET = "USER_TWO_FACTOR_RESET"
    TOTP_ENROLLMENT_STARTED = "TOTP_ENROLLMENT_STARTED"
    TOTP_ENROLLED = "TOTP_ENROLLED"
    TOTP_VERIFIED = "TOTP_VERIFIED"
    TOTP_VERIFICATION_FAILED = "TOTP_VERIFICATION_FAILED"
    TOTP_LOCKED_OUT = "TOTP_LOCKED_OUT"
    RECOVERY_CODE_USED = "RECOVERY_CODE_USED"
    RECOVERY_CODES_REGENERATED = "RECOVERY_CODES_REGENERATED"
    BULK_JOB_STARTED = "BULK_JOB_STARTED"
    BULK_JOB_FINISHED = "BULK_JOB_FINISHED"
    BULK_JOB_CANCELLED = "BULK_JOB_CANCELLED"
    ACCESS_DENIED = "ACCESS_DENIED"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    PASSWORD_RESET_REQUESTED = "PASSWORD_RESET_REQUESTED"
    SESSION_REVOKED = "SESSION_REVOKED"
    SCIM_TOKEN_CREATED = "SCIM_TOKEN_CREATED"
    SCIM_TOKEN_REVOKED = "SCIM_TOKEN_REVOKED"


class AuditOutcome(StrEnum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


class AuditEvent(Model):
    id = fields.BigIntField(primary_key=True)
    # Plain ids, not foreign keys: events outlive the users and jobs they name.
    domain_id = fields.IntField(null=True)
    occurred_at = fields.DatetimeField()
    action = fields.CharField(max_length=40)
    outcome = fields.CharField(max_length=10)
    actor_id = fields.IntField(null=True)
    actor_email = fields.CharField(max_length=320, null=True)
    target_id = fields.IntField(null=True)
    target_email = fields.CharField(max_length=320, null=True)
    ip = fields.CharField(max_length=45, null=True)
    user_agent = fields.CharField(max_length=400, null=True)
    request_id = fields.CharField(max_length=64, null=True)
    job_id = fields.UUIDField(null=True)
    details: dict[str, Any] | None = fields.JSONField(null=True)
    # Tamper evidence: filled in by the sealing job, never by the request that writes the event.
    content_hash = fields.CharField(max_length=64, null=True)
    chain_hash = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "audit_events"
        indexes = (
            ("domain_id", "occurred_at", "id"),
            ("domain_id", "action", "occurred_at", "id"),
            ("domain_id", "target_id", "occurred_at", "id"),
            ("domain_id", "actor_id", "occurred_at", "id"),
            # Sealing, verification and retention walk a domain in id order.
            ("domain_id", "id"),
        )
        # A bulk job writes one event per user and action, however often it runs.
        unique_together = (("job_id", "action", "target_id"),)


class AuditChainState(Model):
    # How far a domain's hash chain is sealed; sealers advance it with a conditional update.

    # 0 is the chain of events that belong to no domain (e.g. a login for an unknown email).
    domain_id = fields.IntField(primary_key=True)
    last_sealed_id = fields.BigIntField(default=0)
    last_chain_hash = fields.CharField(max_length=64)
    sealed_count = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "audit_chain_states"


class AuditRetentionCheckpoint(Model):
    # The chain hash of the last sealed event deleted by retention: verify starts from it.

    domain_id = fields.IntField(primary_key=True)
    last_deleted_id = fields.BigIntField()
    chain_hash = fields.CharField(max_length=64)
    deleted_count = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "audit_retention_checkpoints"


# What an event says (beyond its id, domain and seal): the columns a request writes and an
# export shows.
EVENT_COLUMNS = (
    "occurred_at",
    "action",
    "outcome",
    "actor_id",
    "actor_email",
    "target_id",
    "target_email",
    "ip",
    "user_agent",
    "request_id",
    "job_id",
    "details",
)
