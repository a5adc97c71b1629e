from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from gql_portal.accounts.sessions import resolve_viewer
from gql_portal.api.client_ip import client_ip
from gql_portal.api.context import Context
from gql_portal.audit.services import RequestMeta
from gql_portal.errors import UnauthenticatedError
from gql_portal.settings import get_settings


def bearer_token(request: Request | WebSocket, connection_params: object = None) -> str | None:
    header = request.headers.get("authorization")
    if header is None and isinstance(connection_params, dict):
        value = connection_params.get("Authorization") or connection_params.get("authorization")
        header = value if isinstance(value, str) else None
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def request_meta(request: Request | WebSocket) -> RequestMeta:
    peer = request.client.host if request.client else None
    ip = client_ip(peer, request.headers.get("x-forwarded-for"), get_settings().trusted_proxy_list)
    return RequestMeta(
        ip=ip,
        user_agent=request.headers.get("user-agent"),
        request_id=request.scope.get("state", {}).get("request_id"),
    )


async def build_context(
    request: Request | WebSocket, response: Response | WebSocket | None, token: str | None
) -> Context:
    context = Context(request=request, response=response, meta=request_meta(request), viewer=None)
    if token is not None:
        try:
            if not token:
                raise UnauthenticatedError("Authorization must be: Bearer <token>")
            context.viewer = await resolve_viewer(token)
        except UnauthenticatedError as error:
            context.auth_error = error
    return context


class GraphQLView(GraphQL[Context, None]):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return await build_context(request, response, bearer_token(request))
