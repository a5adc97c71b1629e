from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from gql_portal.accounts.models import Domain, User


class BulkJobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class BulkJobKind(StrEnum):
    ENABLE_TWO_FACTOR = "ENABLE_TWO_FACTOR"
    IMPORT_USERS = "IMPORT_USERS"


class ImportRowOutcome(StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    REFUSED = "REFUSED"


FINAL_STATUSES = frozenset(
    {BulkJobStatus.SUCCEEDED.value, BulkJobStatus.FAILED.value, BulkJobStatus.CANCELLED.value}
)
ACTIVE_STATUSES = (BulkJobStatus.QUEUED.value, BulkJobStatus.RUNNING.value)


class BulkJob(Model):
    # The truth about a bulk job: status, counts and the checkpoint it resumes from.

    id = fields.UUIDField(primary_key=True)
    domain: fields.ForeignKeyRelation[Domain] = fields.ForeignKeyField(
        "models.Domain", related_name="bulk_jobs", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=40, default=BulkJobKind.ENABLE_TWO_FACTOR.value)
    status = fields.CharField(max_length=16, default=BulkJobStatus.QUEUED.value)
    user_filter: dict[str, Any] = fields.JSONField(default=dict)
    dry_run = fields.BooleanField(default=False)
    total = fields.IntField(default=0)
    processed = fields.IntField(default=0)
    changed = fields.IntField(default=0)
    skipped = fields.IntField(default=0)
    failed = fields.IntField(default=0)
    # IMPORT_USERS: rows that created a user and rows that updated one (dry runs: would).
    created = fields.IntField(default=0)
    updated = fields.IntField(default=0)
    # ENABLE_TWO_FACTOR: the last user id done; IMPORT_USERS: the last CSV line done.
    checkpoint_user_id = fields.IntField(default=0)
    cancel_requested = fields.BooleanField(default=False)
    # Written with every checkpoint: a RUNNING job whose heartbeat is old lost its runner.
    heartbeat_at = fields.DatetimeField(null=True)
    # Equal to domain_id while the job is QUEUED or RUNNING, NULL after: the unique index
    # allows one active job per domain on SQLite and PostgreSQL alike.
    active_domain_id = fields.IntField(null=True, unique=True)
    requested_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    requested_by_email = fields.CharField(max_length=320, null=True)
    # Where the request that started the job came from (its RequestMeta): the events the
    # runner writes later carry it too.
    request_ip = fields.CharField(max_length=45, null=True)
    request_user_agent = fields.CharField(max_length=400, null=True)
    request_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    error = fields.TextField(null=True)

    domain_id: int
    requested_by_id: int | None

    class Meta:
        table = "bulk_jobs"
        indexes = (("domain_id", "created_at"), ("status", "heartbeat_at"))

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def progress(self) -> float:
        if self.status == BulkJobStatus.SUCCEEDED.value:
            return 1.0  # a dry run included: it is done
        if self.total <= 0:
            return 0.0
        return min(1.0, self.processed / self.total)


class ImportRow(Model):
    # One parsed CSV row of an IMPORT_USERS job, stored when the job is created so the
    # runner can walk them in set-based chunks, resume from a checkpoint (the line) and
    # report each refused row with its line number.

    id = fields.BigIntField(primary_key=True)
    job: fields.ForeignKeyRelation[BulkJob] = fields.ForeignKeyField(
        "models.BulkJob", related_name="import_rows", on_delete=fields.CASCADE
    )
    line = fields.IntField()
    email = fields.CharField(max_length=320)
    email_normalized = fields.CharField(max_length=320)
    display_name = fields.CharField(max_length=200, default="")
    roles = fields.CharField(max_length=100, default=",USER,")
    # CREATED, UPDATED, UNCHANGED or REFUSED once the runner has passed the row.
    outcome = fields.CharField(max_length=10, null=True)
    error = fields.CharField(max_length=300, null=True)
    user_id = fields.IntField(null=True)

    job_id: Any

    class Meta:
        table = "import_rows"
        unique_together = (("job", "line"),)
