import strawberry

from gql_portal.api.context import Info
from gql_portal.api.permissions import FullyAuthenticated, current_viewer
from gql_portal.rules import services
from gql_portal.rules.types import PasswordSecurityRulesInput, PasswordSecurityRulesType


@strawberry.type
class RulesMutations:
    @strawberry.mutation(
        permission_classes=[FullyAuthenticated],
        description="On: SECURITY_ADMIN. Off: SECURITY_ADMIN or SYSTEM_ADMIN.",
    )
    async def set_domain_two_factor(self, info: Info, enabled: bool) -> PasswordSecurityRulesType:
        viewer = current_viewer(info)
        rules = await services.set_domain_two_factor(
            actor=viewer.user, enabled=enabled, meta=info.context.meta
        )
        return PasswordSecurityRulesType.from_model(rules)

    @strawberry.mutation(permission_classes=[FullyAuthenticated])
    async def update_password_security_rules(
        self, info: Info, input: PasswordSecurityRulesInput
    ) -> PasswordSecurityRulesType:
        viewer = current_viewer(info)
        rules = await services.update_password_rules(
            actor=viewer.user,
            change=services.RulesChange(
                enrollment_grace_period_hours=input.enrollment_grace_period_hours,
                min_password_length=input.min_password_length,
                audit_retention_days=input.audit_retention_days,
                optional_notifications_enabled=input.optional_notifications_enabled,
            ),
            meta=info.context.meta,
        )
        return PasswordSecurityRulesType.from_model(rules)
