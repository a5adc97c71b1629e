import strawberry

from gql_portal.accounts import services
from gql_portal.accounts.presenters import present_user
from gql_portal.accounts.services import LoginResult
from gql_portal.accounts.sessions import session_expiry
from gql_portal.accounts.types import LoginPayload
from gql_portal.api.context import Info
from gql_portal.api.permissions import NotPending, SignedIn, current_viewer


async def login_payload(info: Info, result: LoginResult) -> LoginPayload:
    return LoginPayload(
        status=result.status,
        token=result.issued.token,
        expires_at=session_expiry(result.issued.session),
        user=await present_user(info, result.user),
        enrollment_deadline=result.enrollment_deadline,
        recovery_codes=result.recovery_codes,
    )


@strawberry.type
class AccountMutations:
    @strawberry.mutation(
        permission_classes=[NotPending],
        description="Check a password; the token may be pending until the second factor.",
    )
    async def login(self, info: Info, email: str, password: str) -> LoginPayload:
        result = await services.login(email=email, password=password, meta=info.context.meta)
        return await login_payload(info, result)

    @strawberry.mutation(permission_classes=[SignedIn], description="Revoke this token.")
    async def logout(self, info: Info) -> bool:
        viewer = current_viewer(info, allow_pending=True)
        return await services.logout(viewer=viewer, meta=info.context.meta)
