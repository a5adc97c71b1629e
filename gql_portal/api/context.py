from dataclasses import dataclass, field

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from gql_portal.accounts.sessions import Viewer
from gql_portal.api.loaders import Loaders
from gql_portal.errors import PortalError
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


Info = strawberry.Info[Context, None]
