"""Who may send POST /graphql/import a body bigger than any other request's: a signed-in
SYSTEM_ADMIN (the only role that may import), decided from the request's headers before
its body is read. Everyone else gets the usual body limit there, so an anonymous client
cannot make the server read, hold or decode megabytes (issue 11, points 1 and 6); the
GraphQL request itself is then checked again like any other."""

from starlette.requests import HTTPConnection
from starlette.types import Scope

from gql_portal.accounts.models import Role
from gql_portal.accounts.sessions import resolve_viewer
from gql_portal.api.credentials import request_credentials


async def may_send_an_import(scope: Scope) -> bool:
    credentials = request_credentials(HTTPConnection(scope))
    if credentials.refusal is not None or not credentials.token:
        return False
    try:
        viewer = await resolve_viewer(credentials.token)
    except Exception:
        # Not signed in, or the session cannot be read now: the usual limit, and the
        # GraphQL request answers UNAUTHENTICATED or SERVICE_UNAVAILABLE as it would.
        return False
    return viewer.authenticated and viewer.user.has_any_role(Role.SYSTEM_ADMIN)
