from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class NotificationStatus(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"


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
