"""The gate on every root field: no session, a pending session, or a full one."""

from typing import Any, ClassVar

from strawberry.permission import BasePermission

from gql_portal.accounts.authorization import READERS, SECURITY_ADMINS, require_role
from gql_portal.accounts.models import Role
from gql_portal.accounts.sessions import Viewer
from gql_portal.api.context import Info
from gql_portal.errors import TwoFactorRequiredError, UnauthenticatedError


def current_viewer(info: Info, *, allow_pending: bool = False) -> Viewer:
    context = info.context
    if context.auth_error is not None:
        raise context.auth_error
    viewer = context.viewer
    if viewer is None:
        raise UnauthenticatedError()
    if not allow_pending and not viewer.authenticated:
        raise TwoFactorRequiredError(status=viewer.status.value)
    return viewer


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

    message = "Complete two-factor authentication first"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = info.context.viewer
        if viewer is not None and not viewer.authenticated:
            raise TwoFactorRequiredError(status=viewer.status.value)
        return True


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
