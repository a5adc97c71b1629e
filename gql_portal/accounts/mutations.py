import strawberry

from gql_portal.accounts import password_links, services
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

    @strawberry.mutation(
        description=(
            "Mail a password reset link (single use, valid 30 minutes) to each active account"
            " with this email. Always true, whatever the email names; TOO_MANY_ATTEMPTS when"
            " this client asked too often. The request's token, if any, plays no part."
        )
    )
    async def request_password_reset(self, info: Info, email: str) -> bool:
        await password_links.request_password_reset(email=email, meta=info.context.meta)
        return True

    @strawberry.mutation(
        description=(
            "Set the password with an invitation or reset link's token (single use): the"
            " domain's minimum length (BAD_USER_INPUT field password, the link stays usable),"
            " revokes every session of the user. A bad, used or expired token answers"
            " BAD_USER_INPUT field token. The request's token, if any, plays no part."
        )
    )
    async def set_password(self, info: Info, token: str, password: str) -> bool:
        await password_links.set_password_with_link(
            token=token, password=password, meta=info.context.meta
        )
        return True
