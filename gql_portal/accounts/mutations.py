import strawberry

from gql_portal.accounts import services
from gql_portal.accounts.presenters import present_user
from gql_portal.accounts.services import LoginResult
from gql_portal.accounts.sessions import session_expiry
from gql_portal.accounts.types import LoginPayload
from gql_portal.api.context import Info
from gql_portal.api.permissions import NotPending, SignedIn, current_viewer
from gql_portal.api.session_cookie import clear_session_cookie, deliver_token


async def login_payload(info: Info, result: LoginResult) -> LoginPayload:
    session = result.issued.session
    return LoginPayload(
        status=result.status,
        # The cookie lives as long as the session may (idle expiry is the server's).
        token=deliver_token(info.context, result.issued.token, session.expires_at),
        expires_at=session_expiry(session),
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
        logged_out = await services.logout(viewer=viewer, meta=info.context.meta)
        clear_session_cookie(info.context)
        return logged_out
