from datetime import datetime

import strawberry

from gql_portal.accounts.models import Domain, PasswordSecurityRules, User
from gql_portal.api.context import Info
from gql_portal.api.permissions import require_sight_of_other_users
from gql_portal.two_factor.gate import TwoFactorState, enrollment_deadline_shown, two_factor_state
from gql_portal.two_factor.models import TotpAuthenticator
from gql_portal.two_factor.stats import TwoFactorCounts
from gql_portal.two_factor.throttle import HARD_LOCK_AFTER, is_locked

strawberry.enum(TwoFactorState, name="TwoFactorState")


@strawberry.type(name="UserTwoFactor")
class UserTwoFactorType:
    state: TwoFactorState
    available: bool = strawberry.field(description="The domain's 2FA switch is on.")
    enabled: bool
    enrolled: bool
    enrolled_at: datetime | None
    enrollment_deadline: datetime | None
    locked_until: datetime | None = strawberry.field(
        description="Set while the code step is locked; far in the future for a hard lock."
    )
    locked_permanently: bool = strawberry.field(
        description="After 100 consecutive failures only an administrator's reset unlocks."
    )
    recovery_codes_remaining: int

    @classmethod
    def build(
        cls,
        *,
        user: User,
        rules: PasswordSecurityRules,
        authenticator: TotpAuthenticator | None,
        recovery_codes_remaining: int,
        now: datetime,
    ) -> "UserTwoFactorType":
        enrolled = authenticator is not None
        locked = is_locked(user, now)
        return cls(
            state=two_factor_state(rules, user, enrolled),
            available=rules.two_factor_enabled,
            enabled=user.two_factor_enabled,
            enrolled=enrolled,
            enrolled_at=authenticator.confirmed_at if authenticator else None,
            enrollment_deadline=enrollment_deadline_shown(rules, user, enrolled, now),
            locked_until=user.code_locked_until if locked else None,
            locked_permanently=locked and user.code_failures >= HARD_LOCK_AFTER,
            recovery_codes_remaining=recovery_codes_remaining,
        )


@strawberry.type(name="TwoFactorStats")
class TwoFactorStatsType:
    users: int
    enabled: int
    enrolled: int
    pending_enrollment: int
    locked_out: int

    @classmethod
    async def load(cls, info: Info, domain: Domain) -> "TwoFactorStatsType":
        await require_sight_of_other_users(info, domain_id=domain.id, operation="twoFactorStats")
        # Once per request: a page of users each showing its domain asks 500 times.
        counts: TwoFactorCounts = await info.context.loaders.two_factor_counts.load(domain.id)
        return cls(
            users=counts.users,
            enabled=counts.enabled,
            enrolled=counts.enrolled,
            pending_enrollment=counts.enabled - counts.enrolled,
            locked_out=counts.locked_out,
        )


@strawberry.type(name="TotpEnrollment")
class TotpEnrollmentType:
    secret: str = strawberry.field(description="Base32, for manual entry.")
    otpauth_uri: str
    qr_code_svg: str = strawberry.field(description="data: URI of a QR code of otpauthUri.")
    qr_code_png: str = strawberry.field(description="data: URI of a QR code of otpauthUri.")
    expires_at: datetime
