import strawberry

from gql_portal.accounts import own_account, password_links, provisioning, services
from gql_portal.accounts.directory import parse_id
from gql_portal.accounts.models import Role
from gql_portal.accounts.presenters import present_user
from gql_portal.accounts.services import LoginResult
from gql_portal.accounts.sessions import session_expiry
from gql_portal.accounts.types import LoginPayload, UserType
from gql_portal.api.context import Info
from gql_portal.api.permissions import (
    FullyAuthenticated,
    NotPending,
    SignedIn,
    SystemAdmins,
    current_viewer,
)
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


@strawberry.input
class CreateUserInput:
    email: str
    display_name: str | None = ""
    roles: list[Role] = strawberry.field(default_factory=lambda: [Role.USER])
    password: str | None = strawberry.field(
        default=None,
        description="Null: an invited user, who cannot log in until they set a password.",
    )


@strawberry.input
class UpdateUserInput:
    display_name: str | None = strawberry.field(default=None, description="Null: unchanged.")
    roles: list[Role] | None = strawberry.field(
        default=None,
        description="Null: unchanged. Nobody changes their own roles (BAD_USER_INPUT, field"
        " roles); the domain keeps an active SYSTEM_ADMIN and an active SECURITY_ADMIN.",
    )


@strawberry.type
class UserAdminMutations:
    """SYSTEM_ADMIN only; another domain's user id answers NOT_FOUND like a missing one."""

    @strawberry.mutation(
        permission_classes=[SystemAdmins],
        description="A duplicate email answers BAD_USER_INPUT with field email.",
    )
    async def create_user(self, info: Info, input: CreateUserInput) -> UserType:
        viewer = current_viewer(info)
        user = await provisioning.create_user(
            domain_id=viewer.user.domain_id,
            email=input.email,
            display_name=input.display_name or "",
            roles=input.roles,
            password=input.password,
            actor=viewer,
            meta=info.context.meta,
            via="graphql",
        )
        return await present_user(info, user)

    @strawberry.mutation(permission_classes=[SystemAdmins])
    async def update_user(
        self, info: Info, user_id: strawberry.ID, input: UpdateUserInput
    ) -> UserType:
        viewer = current_viewer(info)
        user = await provisioning.update_user(
            user_id=parse_id(user_id),
            domain_id=viewer.user.domain_id,
            display_name=input.display_name,
            roles=input.roles,
            actor=viewer,
            meta=info.context.meta,
            via="graphql",
        )
        return await present_user(info, user)

    @strawberry.mutation(
        permission_classes=[SystemAdmins],
        description="The user cannot log in and every session of theirs is revoked; their"
        " 2FA settings are kept. Not yourself, nor the last active SYSTEM_ADMIN or"
        " SECURITY_ADMIN (BAD_USER_INPUT).",
    )
    async def deactivate_user(self, info: Info, user_id: strawberry.ID) -> UserType:
        return await _set_active(info, user_id, active=False)

    @strawberry.mutation(permission_classes=[SystemAdmins])
    async def reactivate_user(self, info: Info, user_id: strawberry.ID) -> UserType:
        return await _set_active(info, user_id, active=True)

    @strawberry.mutation(
        permission_classes=[SystemAdmins],
        description="Lift the password throttle of the user's email (its failures and lock).",
    )
    async def unlock_user_login(self, info: Info, user_id: strawberry.ID) -> UserType:
        viewer = current_viewer(info)
        user = await provisioning.unlock_user_login(
            user_id=parse_id(user_id),
            domain_id=viewer.user.domain_id,
            actor=viewer,
            meta=info.context.meta,
        )
        return await present_user(info, user)


async def _set_active(info: Info, user_id: strawberry.ID, *, active: bool) -> UserType:
    viewer = current_viewer(info)
    user = await provisioning.set_user_active(
        user_id=parse_id(user_id),
        domain_id=viewer.user.domain_id,
        active=active,
        actor=viewer,
        meta=info.context.meta,
        via="graphql",
    )
    return await present_user(info, user)


@strawberry.type
class OwnAccountMutations:
    """Every role, for the viewer's own account."""

    @strawberry.mutation(
        permission_classes=[FullyAuthenticated],
        description="Checked like a login (a wrong current password counts toward the lock);"
        " every other session of the viewer is revoked, this one stays.",
    )
    async def change_password(self, info: Info, current_password: str, new_password: str) -> bool:
        await own_account.change_password(
            viewer=current_viewer(info),
            current_password=current_password,
            new_password=new_password,
            meta=info.context.meta,
        )
        return True

    @strawberry.mutation(
        permission_classes=[FullyAuthenticated],
        description="One of the viewer's sessions (mySessions); false if already revoked.",
    )
    async def revoke_session(self, info: Info, id: strawberry.ID) -> bool:
        viewer = current_viewer(info)
        revoked = await own_account.revoke_own_session(
            viewer=viewer, session_id=parse_id(id), meta=info.context.meta
        )
        if str(id) == str(viewer.session.id):
            clear_session_cookie(info.context)
        return revoked

    @strawberry.mutation(
        permission_classes=[FullyAuthenticated],
        description="Revoke every session of the viewer, this one included (one"
        " SESSION_REVOKED event with the count); clears the portal's cookie.",
    )
    async def logout_everywhere(self, info: Info) -> bool:
        revoked = await own_account.logout_everywhere(
            viewer=current_viewer(info), meta=info.context.meta
        )
        clear_session_cookie(info.context)
        return revoked
