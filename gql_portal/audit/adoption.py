"""2FA adoption per day for reports, rebuilt backwards from today's counts and the log.

The end-of-day value of day D is today's count minus the net changes logged after D:
``enabled`` moves with USER_TWO_FACTOR_ENABLED / _DISABLED (bulk jobs included),
``enrolled`` with TOTP_ENROLLED / USER_TWO_FACTOR_RESET. Events removed by retention
no longer count, so ask for at most the retention period.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from tortoise.expressions import RawSQL
from tortoise.functions import Count

from gql_portal.accounts.authorization import READERS, require_role
from gql_portal.accounts.models import User
from gql_portal.audit.models import AuditAction, AuditEvent, AuditOutcome
from gql_portal.audit.reader import TimeBucket, as_utc, bucket_sql
from gql_portal.clock import utcnow
from gql_portal.errors import BadUserInputError
from gql_portal.request_meta import RequestMeta
from gql_portal.two_factor.stats import count_two_factor

MAX_DAYS = 366
_ENABLED = {AuditAction.USER_TWO_FACTOR_ENABLED: 1, AuditAction.USER_TWO_FACTOR_DISABLED: -1}
_ENROLLED = {AuditAction.TOTP_ENROLLED: 1, AuditAction.USER_TWO_FACTOR_RESET: -1}


@dataclass(frozen=True, slots=True)
class AdoptionDay:
    day: date
    enabled: int
    enrolled: int


async def adoption_series(*, actor: User, days: int, meta: RequestMeta) -> list[AdoptionDay]:
    await require_role(actor, READERS, operation="twoFactorAdoption", meta=meta)
    if not 1 <= days <= MAX_DAYS:
        raise BadUserInputError(f"days must be between 1 and {MAX_DAYS}", field="days")
    now = utcnow()
    today = now.date()
    first_day = today - timedelta(days=days - 1)
    counts = await count_two_factor(actor.domain_id, now)
    rows = (
        await AuditEvent.filter(
            domain_id=actor.domain_id,
            outcome=AuditOutcome.SUCCESS.value,
            action__in=[action.value for action in (*_ENABLED, *_ENROLLED)],
            occurred_at__gte=datetime.combine(first_day + timedelta(days=1), time(), UTC),
        )
        .annotate(day=RawSQL(bucket_sql(TimeBucket.DAY)), total=Count("id"))
        .group_by("day", "action")
        .values("day", "action", "total")
    )
    enabled_change: dict[date, int] = {}
    enrolled_change: dict[date, int] = {}
    for row in rows:
        day, action = as_utc(row["day"]).date(), AuditAction(row["action"])
        enabled_change[day] = enabled_change.get(day, 0) + _ENABLED.get(action, 0) * row["total"]
        enrolled_change[day] = enrolled_change.get(day, 0) + _ENROLLED.get(action, 0) * row["total"]
    series = []
    enabled, enrolled = counts.enabled, counts.enrolled
    for offset in range(days):
        day = today - timedelta(days=offset)
        series.append(AdoptionDay(day=day, enabled=max(enabled, 0), enrolled=max(enrolled, 0)))
        enabled -= enabled_change.get(day, 0)
        enrolled -= enrolled_change.get(day, 0)
    series.reverse()
    return series
