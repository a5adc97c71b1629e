from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class NotificationStatus(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"


class NotificationKind(StrEnum):
    TWO_FACTOR_ENABLED = "TWO_FACTOR_ENABLED"
    ENROLLMENT_REMINDER = "ENROLLMENT_REMINDER"
    AUTHENTICATOR_ADDED = "AUTHENTICATOR_ADDED"
    TWO_FACTOR_DISABLED = "TWO_FACTOR_DISABLED"
    TWO_FACTOR_RESET = "TWO_FACTOR_RESET"
    RECOVERY_CODE_USED = "RECOVERY_CODE_USED"
    RECOVERY_CODES_REGENERATED = "RECOVERY_CODES_REGENERATED"
    CODE_STEP_LOCKED = "CODE_STEP_LOCKED"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    ACCOUNT_DEACTIVATED = "ACCOUNT_DEACTIVATED"
    JOB_FINISHED = "JOB_FINISHED"
    INVITATION = "INVITATION"
    PASSWORD_RESET = "PASSWORD_RESET"


# What a domain may turn off (PasswordSecurityRules.optional_notifications_enabled): every
# other kind tells a user of a change to their own account and is always sent.
OPTIONAL_KINDS = frozenset({NotificationKind.ENROLLMENT_REMINDER, NotificationKind.JOB_FINISHED})


class Notification(Model):
    # The outbox: one message to one recipient, written in the transaction of the change
    # that causes it, delivered later by the worker. Its Message-ID is derived from its id.

    id = fields.BigIntField(primary_key=True)
    # Plain ids, not foreign keys: delivery state outlives the users it names.
    domain_id = fields.IntField()
    user_id = fields.IntField(null=True)
    recipient = fields.CharField(max_length=320)
    kind = fields.CharField(max_length=40)
    status = fields.CharField(max_length=10, default=NotificationStatus.QUEUED.value)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    # A sender claims a batch until then; a killed sender's batch is claimable after it.
    claimed_until = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    # What the message's template needs (never a secret or a code; a link token encrypted).
    params: dict[str, Any] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    job_id = fields.UUIDField(null=True)
    # Makes a message once-only where the event may be seen twice (a reminder per user and
    # deadline, a bulk chunk run again): e.g. "reminder-72:<user>:<deadline>".
    dedupe_key = fields.CharField(max_length=200, null=True, unique=True)

    class Meta:
        table = "notifications"
        indexes = (
            ("status", "next_attempt_at", "id"),
            ("domain_id", "id"),
            ("domain_id", "user_id", "id"),
        )
