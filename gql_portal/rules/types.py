from datetime import datetime

import strawberry

from gql_portal.accounts.models import PasswordSecurityRules
from gql_portal.accounts.types import UserType
from gql_portal.api.context import Info
from gql_portal.api.permissions import may_see_other_users


@strawberry.type(name="PasswordSecurityRules")
class PasswordSecurityRulesType:
    two_factor_enabled: bool = strawberry.field(description='"Enable 2FA": the master switch.')
    enrollment_grace_period_hours: int = strawberry.field(
        description="0: users must enroll at their next login."
    )
    min_password_length: int
    audit_retention_days: int = strawberry.field(
        description="Audit events older than this are deleted; 0 keeps them forever."
    )
    optional_notifications_enabled: bool = strawberry.field(
        description="Reminders before an enrollment deadline and bulk job summaries by mail. "
        "Security messages (any change to a user's second factor or account) are always sent."
    )
    updated_at: datetime | None
    model: strawberry.Private[PasswordSecurityRules]

    @classmethod
    def from_model(cls, rules: PasswordSecurityRules) -> "PasswordSecurityRulesType":
        return cls(
            two_factor_enabled=rules.two_factor_enabled,
            enrollment_grace_period_hours=rules.enrollment_grace_period_hours,
            min_password_length=rules.min_password_length,
            audit_retention_days=rules.audit_retention_days,
            optional_notifications_enabled=rules.optional_notifications_enabled,
            updated_at=rules.updated_at,
            model=rules,
        )

    @strawberry.field(
        description="For roles that may list users; null otherwise and in a login answer."
    )
    async def updated_by(self, info: Info) -> UserType | None:
        if self.model.updated_by_id is None or not may_see_other_users(info):
            return None
        from gql_portal.accounts.presenters import present_user_by_id

        # Every node of a users page shows the same rules: one batch, then the cache.
        return await present_user_by_id(
            info, self.model.updated_by_id, domain_id=self.model.domain_id
        )


@strawberry.input
class PasswordSecurityRulesInput:
    enrollment_grace_period_hours: int | None = None
    min_password_length: int | None = None
    audit_retention_days: int | None = None
    optional_notifications_enabled: bool | None = None
