from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Subquery

from gql_portal.accounts.models import User
from gql_portal.two_factor.models import TotpAuthenticator


@dataclass(frozen=True, slots=True)
class TwoFactorCounts:
    users: int
    enabled: int
    enrolled: int
    locked_out: int


async def count_two_factor(domain_id: int, now: datetime) -> TwoFactorCounts:
    """Stored per-user settings, whatever the domain switch says."""
    in_domain = User.filter(domain_id=domain_id)
    enabled = in_domain.filter(two_factor_enabled=True)
    enrolled_ids = Subquery(TotpAuthenticator.filter(user__domain_id=domain_id).values("user_id"))
    return TwoFactorCounts(
        users=await in_domain.count(),
        enabled=await enabled.count(),
        enrolled=await enabled.filter(id__in=enrolled_ids).count(),
        locked_out=await enabled.filter(code_locked_until__gt=now).count(),
    )
