import strawberry

from gql_portal.accounts.mutations import login_payload
from gql_portal.accounts.presenters import present_user
from gql_portal.accounts.types import LoginPayload, UserType
from gql_portal.api.context import Info
from gql_portal.api.permissions import FullyAuthenticated, SignedIn, current_viewer
from gql_portal.two_factor import admin, enrollment, recovery, verification
from gql_portal.two_factor.types import TotpEnrollmentType


@strawberry.type
class TwoFactorMutations:
    @strawberry.mutation(permission_classes=[SignedIn])
    async def begin_totp_enrollment(self, info: Info) -> TotpEnrollmentType:
        viewer = current_viewer(info, allow_pending=True)
        started = await enrollment.begin_enrollment(viewer=viewer, meta=info.context.meta)
        return TotpEnrollmentType(
            secret=started.secret,
            otpauth_uri=started.otpauth_uri,
            qr_code_svg=started.qr_code_svg,
            qr_code_png=started.qr_code_png,
            expires_at=started.expires_at,
        )

    @strawberry.mutation(
        permission_classes=[SignedIn],
        description="Activate the authenticator; returns a new token and 10 recovery codes.",
    )
    async def confirm_totp_enrollment(self, info: Info, code: str) -> LoginPayload:
        viewer = current_viewer(info, allow_pending=True)
        result = await enrollment.confirm_enrollment(
            viewer=viewer, code=code, meta=info.context.meta
        )
        return await login_payload(info, result)

    @strawberry.mutation(permission_classes=[SignedIn])
    async def verify_totp(self, info: Info, code: str) -> LoginPayload:
        viewer = current_viewer(info, allow_pending=True)
        result = await verification.verify_totp(viewer=viewer, code=code, meta=info.context.meta)
        return await login_payload(info, result)

    @strawberry.mutation(permission_classes=[SignedIn])
    async def verify_recovery_code(self, info: Info, code: str) -> LoginPayload:
        viewer = current_viewer(info, allow_pending=True)
        result = await verification.verify_recovery_code(
            viewer=viewer, code=code, meta=info.context.meta
        )
        return await login_payload(info, result)

    @strawberry.mutation(
        permission_classes=[FullyAuthenticated],
        description="A new set of 10 recovery codes; needs a current TOTP code.",
    )
    async def regenerate_recovery_codes(self, info: Info, code: str) -> list[str]:
        viewer = current_viewer(info)
        return await recovery.regenerate_recovery_codes(
            viewer=viewer, code=code, meta=info.context.meta
        )

    @strawberry.mutation(permission_classes=[FullyAuthenticated])
    async def enable_user_two_factor(self, info: Info, user_id: strawberry.ID) -> UserType:
        viewer = current_viewer(info)
        user = await admin.enable_user_two_factor(
            actor=viewer.user, user_id=str(user_id), meta=info.context.meta
        )
        return await present_user(info, user)

    @strawberry.mutation(permission_classes=[FullyAuthenticated])
    async def disable_user_two_factor(self, info: Info, user_id: strawberry.ID) -> UserType:
        viewer = current_viewer(info)
        user = await admin.disable_user_two_factor(
            actor=viewer.user, user_id=str(user_id), meta=info.context.meta
        )
        return await present_user(info, user)

    @strawberry.mutation(
        permission_classes=[FullyAuthenticated],
        description="Lost device: deletes authenticator and recovery codes, revokes sessions.",
    )
    async def reset_user_two_factor(self, info: Info, user_id: strawberry.ID) -> UserType:
        viewer = current_viewer(info)
        user = await admin.reset_user_two_factor(
            actor=viewer.user, user_id=str(user_id), meta=info.context.meta
        )
        return await present_user(info, user)
