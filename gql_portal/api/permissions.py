"""The gate on every root field (no session, a pending session, or a full one), and the
one rule for every field below it that leads to users other than the viewer."""

from typing import Any, ClassVar

from graphql.pyutils import Path
from strawberry.permission import BasePermission

from gql_portal.accounts.authorization import (
    DOMAIN_ADMINS,
    READERS,
    SECURITY_ADMINS,
    SYSTEM_ADMINS,
    record_access_denied,
    require_role,
)
from gql_portal.accounts.models import Role, User
from gql_portal.accounts.sessions import Viewer, require_authenticated
from gql_portal.api.context import Info
from gql_portal.errors import ForbiddenError, TwoFactorRequiredError, UnauthenticatedError

# Answers that belong to the session they issue (login and the second-factor exchanges),
# not to the token the request came with, if any.
SELF_ONLY_ANSWERS = frozenset({"LoginPayload"})


def current_viewer(info: Info, *, allow_pending: bool = False) -> Viewer:
    context = info.context
    if context.auth_error is not None:
        raise context.auth_error
    viewer = context.viewer
    if viewer is None:
        raise UnauthenticatedError()
    return viewer if allow_pending else require_authenticated(viewer)


class SignedIn(BasePermission):
    """Any live session, pending ones included: only the second-factor steps use this."""

    message = "Authentication required"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        current_viewer(info, allow_pending=True)
        return True


class FullyAuthenticated(BasePermission):
    """A session that is AUTHENTICATED now; pending sessions answer TWO_FACTOR_REQUIRED."""

    message = "Authentication required"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        current_viewer(info)
        return True


class NotPending(BasePermission):
    """Open to anyone, except a pending token: it may only finish its second-factor step."""

    message = TwoFactorRequiredError.default_message

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.viewer is not None:
            require_authenticated(info.context.viewer)
        return True


def in_login_answer(info: Info) -> bool:
    """Whether the field being resolved lies below a LoginPayload, through any aliases."""
    path: Path | None = info.path
    while path is not None:
        if path.typename in SELF_ONLY_ANSWERS:
            return True
        path = path.prev
    return False


def may_see_other_users(info: Info) -> bool:
    """CONTRACT section 4: a pending token and a login answer show nothing about other
    users; a field that leads to them is shown only to roles that may list users."""
    viewer = info.context.viewer
    return (
        viewer is not None
        and viewer.authenticated
        and viewer.user.has_any_role(*READERS)
        and not in_login_answer(info)
    )


async def visible_user(info: Info, user_id: int | None) -> User | None:
    """The user a field leads to (updatedBy, requestedBy, actor, target) if it may be shown
    here, else None: that field's null. No user of another domain is ever shown."""
    if user_id is None or not may_see_other_users(info):
        return None
    user = await info.context.loaders.user.load(user_id)
    viewer = info.context.viewer
    if user is None or viewer is None or user.domain_id != viewer.user.domain_id:
        return None
    return user


async def require_sight_of_other_users(info: Info, *, domain_id: int, operation: str) -> None:
    """For a non-null field about other users (aggregates such as twoFactorStats): where
    may_see_other_users would show null, refuse instead (FORBIDDEN, ACCESS_DENIED event)."""
    if in_login_answer(info):
        # The request's token, if any, is not the answer's user: the event names no actor.
        await record_access_denied(
            actor=None, operation=operation, meta=info.context.meta, domain_id=domain_id
        )
        raise ForbiddenError("A login answer shows only the user's own fields")
    viewer = current_viewer(info)  # UNAUTHENTICATED and TWO_FACTOR_REQUIRED come first
    if viewer.user.domain_id != domain_id:
        raise ForbiddenError()
    if not may_see_other_users(info):
        await record_access_denied(actor=viewer.user, operation=operation, meta=info.context.meta)
        raise ForbiddenError()


class RoleRequired(BasePermission):
    """A full session holding one of ``roles``, checked before the resolver reads its
    arguments (CONTRACT section 2: authentication, role, then everything else): a viewer
    who may not use the operation gets FORBIDDEN and ACCESS_DENIED whatever it sent,
    never a BAD_USER_INPUT that tells it how the input is checked. The service checks
    the role again for its other callers; for a refused viewer it is never reached."""

    message = "You are not allowed to do this"
    roles: ClassVar[frozenset[Role]]

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = current_viewer(info)
        await require_role(
            viewer.user, self.roles, operation=info.field_name, meta=info.context.meta
        )
        return True


class Readers(RoleRequired):
    """The audit log, reports and bulk jobs: SECURITY_ADMIN, SYSTEM_ADMIN, AUDITOR."""

    roles = READERS


class SecurityAdmins(RoleRequired):
    roles = SECURITY_ADMINS


class SystemAdmins(RoleRequired):
    roles = SYSTEM_ADMINS


class DomainAdmins(RoleRequired):
    """SECURITY_ADMIN or SYSTEM_ADMIN; the service narrows it where the target decides."""

    roles = DOMAIN_ADMINS
