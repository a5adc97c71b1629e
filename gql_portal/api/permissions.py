"""The gate on every root field: no session, a pending session, or a full one."""

from typing import Any

from strawberry.permission import BasePermission

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
