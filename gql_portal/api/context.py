from dataclasses import dataclass, field

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from gql_portal.accounts.sessions import Viewer, resolve_viewer
from gql_portal.api.credentials import Credentials, Source
from gql_portal.api.loaders import Loaders
from gql_portal.api.request_meta import request_meta
from gql_portal.dependencies import unavailable_error
from gql_portal.errors import (
    ForbiddenError,
    PortalError,
    ServiceUnavailableError,
    UnauthenticatedError,
)
from gql_portal.request_meta import RequestMeta


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    meta: RequestMeta
    viewer: Viewer | None
    # UNAUTHENTICATED, or SERVICE_UNAVAILABLE when the session could not be read.
    auth_error: PortalError | None = None
    loaders: Loaders = field(default_factory=Loaders)
    # Filled by strawberry from the websocket's connection_init payload.
    connection_params: dict[str, object] | None = None
    credentials: Credentials = field(default_factory=lambda: Credentials(None, Source.NONE))


Info = strawberry.Info[Context, None]


async def build_context(
    request: Request | WebSocket, response: Response | WebSocket | None, credentials: Credentials
) -> Context:
    context = Context(
        request=request,
        response=response,
        meta=request_meta(request),
        viewer=None,
        credentials=credentials,
    )
    token = credentials.token
    if credentials.refusal is not None:
        context.auth_error = ForbiddenError(credentials.refusal)
    elif token is not None:
        try:
            if not token:
                raise UnauthenticatedError("Authorization must be: Bearer <token>")
            context.viewer = await resolve_viewer(token)
        except UnauthenticatedError as error:
            context.auth_error = error
        except Exception as error:
            # The session cannot be read now: every field that needs the viewer answers
            # SERVICE_UNAVAILABLE (HTTP 503), over HTTP and WebSocket alike.
            context.auth_error = unavailable_or_raise(error)
    return context


def unavailable_or_raise(error: Exception) -> ServiceUnavailableError:
    unavailable = unavailable_error(error)
    if unavailable is None:
        raise error
    return unavailable
