"""Which audit events a reader asked for, always inside the reader's own domain."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tortoise.expressions import Q

from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.errors import BadUserInputError
from gql_portal.inputs import distinct, int_id, require_text, utc_time


@dataclass(frozen=True, slots=True)
class AuditQuery:
    actions: tuple[AuditAction, ...] | None = None
    outcome: AuditOutcome | None = None
    actor_id: int | None = None
    target_id: int | None = None
    job_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    ip: str | None = None


def parse_user_id(raw: str | None, field: str) -> int | None:
    if raw is None:
        return None
    user_id = int_id(raw)
    if user_id is None:
        raise BadUserInputError(f"{field} is not a user id", field=field)
    return user_id


def parse_job_id(raw: str | None) -> UUID | None:
    if raw is None:
        return None
    try:
        return UUID(str(raw))
    except ValueError:
        raise BadUserInputError("jobId is not a job id", field="jobId") from None


def aware(value: datetime | None, field: str) -> datetime | None:
    return None if value is None else utc_time(value, field)


def build_query(
    *,
    actions: Sequence[AuditAction] | None = None,
    outcome: AuditOutcome | None = None,
    actor_id: str | None = None,
    target_id: str | None = None,
    job_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    ip: str | None = None,
) -> AuditQuery:
    """Validate raw filter input; ids are checked for shape only, events outlive their users."""
    since, until = aware(since, "since"), aware(until, "until")
    if since is not None and until is not None and since > until:
        raise BadUserInputError("since must not be after until", field="since")
    if ip is not None and (not ip.strip() or len(ip) > 45):
        raise BadUserInputError("ip must be an address", field="ip")
    return AuditQuery(
        actions=distinct((AuditAction(a) for a in actions), "actions") if actions else None,
        outcome=AuditOutcome(outcome) if outcome is not None else None,
        actor_id=parse_user_id(actor_id, "actorId"),
        target_id=parse_user_id(target_id, "targetUserId"),
        job_id=parse_job_id(job_id),
        since=since,
        until=until,
        ip=ip.strip() if ip is not None else None,
    )


def query_from_params(params: Mapping[str, str], actions: Sequence[str]) -> AuditQuery:
    """The export's query string: the same filters as ``AuditEventFilter``, all checked
    here, before the response starts (a stream cannot turn into an error once it has)."""
    for name, value in params.items():
        require_text(value, name)
    for value in actions:
        require_text(value, "actions")

    def timestamp(name: str) -> datetime | None:
        raw = params.get(name)
        if raw is None:
            return None
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise BadUserInputError(f"{name} is not an ISO 8601 time", field=name) from None

    names = [part for raw in actions for part in raw.split(",") if part]
    try:
        parsed_actions = [AuditAction(name) for name in names]
        outcome = AuditOutcome(params["outcome"]) if "outcome" in params else None
    except ValueError:
        raise BadUserInputError("Unknown action or outcome", field="actions") from None
    return build_query(
        actions=parsed_actions,
        outcome=outcome,
        actor_id=params.get("actorId"),
        target_id=params.get("targetUserId"),
        job_id=params.get("jobId"),
        since=timestamp("since"),
        until=timestamp("until"),
        ip=params.get("ip"),
    )


def event_condition(domain_id: int, query: AuditQuery) -> Q:
    condition = Q(domain_id=domain_id)
    if query.actions:
        condition &= Q(action__in=[action.value for action in query.actions])
    if query.outcome is not None:
        condition &= Q(outcome=query.outcome.value)
    if query.actor_id is not None:
        condition &= Q(actor_id=query.actor_id)
    if query.target_id is not None:
        condition &= Q(target_id=query.target_id)
    if query.job_id is not None:
        condition &= Q(job_id=query.job_id)
    if query.since is not None:
        condition &= Q(occurred_at__gte=query.since)
    if query.until is not None:
        condition &= Q(occurred_at__lte=query.until)
    if query.ip is not None:
        condition &= Q(ip=query.ip)
    return condition
