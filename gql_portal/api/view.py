import json
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from gql_portal.api.context import Context, build_context, unavailable_or_raise
from gql_portal.api.credentials import (
    Credentials,
    request_credentials,
    server_origin,
    websocket_credentials,
)
from gql_portal.api.documents import DocumentCache
from gql_portal.api.errors import unavailable_body, unavailable_headers, unavailable_retry_after
from gql_portal.api.operation import FastOperations
from gql_portal.api.origins import same_origin
from gql_portal.api.variables import variables_problem
from gql_portal.api.websocket import SubscriptionsOnlyHandler
from gql_portal.http.graphiql import graphiql_page
from gql_portal.http.limits import error_body, send_error
from gql_portal.http.media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    is_request_error,
    wants_graphql_response,
)


def cookie_refusal(request: Request, credentials: Credentials) -> Response:
    request_id = request.scope.get("state", {}).get("request_id")
    body = error_body(credentials.refusal or "", "FORBIDDEN", request_id=request_id)
    return Response(body, status_code=403, media_type=JSON)


class _SubResponse(Response):
    graphql_response = False


class GraphQLView(GraphQL[Context, None]):
    """GraphQL over HTTP: JSON POSTs only (no forms: CSRF), no mutation over GET, no batches.
    Over WebSocket (graphql-transport-ws only): subscriptions only."""

    graphql_transport_ws_handler_class = SubscriptionsOnlyHandler
    # Set by create_app: JSON POSTs of valid documents skip strawberry's view (7.1).
    fast: FastOperations | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self._respond(request)
        except HTTPException as error:
            allow = [(b"allow", b"POST")] if error.status_code == 405 else []
            await send_error(send, error.status_code, error.reason, allow)
            return
        except Exception as error:
            # A dependency fault outside any resolver: still the contract's 503 answer.
            unavailable = unavailable_or_raise(error)
            request_id = request.scope.get("state", {}).get("request_id")
            response = Response(
                orjson.dumps(unavailable_body(unavailable, request_id)),
                status_code=503,
                headers=unavailable_headers(unavailable.extensions["retryAfter"]),
                media_type=JSON,
            )
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        credentials = request_credentials(request)
        if credentials.refusal is not None:
            # Cross-site use of the session cookie: refused before anything runs or counts.
            return cookie_refusal(request, credentials)
        if self.fast is not None and (found := await self.fast.prepare(request)):
            prepared, variables, operation_name = found
            sub_response = await self.get_sub_response(request)
            context = await build_context(request, sub_response, credentials)
            if problem := variables_problem(variables, signed_in=context.viewer is not None):
                raise HTTPException(400, problem)
            data, errors = await self.fast.execute(prepared, variables, operation_name, context)
            response = self.fast.response(request, data, errors)
            response.headers.raw.extend(sub_response.headers.raw)  # the session cookie
            return response
        return await self.run(request)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if isinstance(request, WebSocket):
            return await build_context(request, response, websocket_credentials(request, None))
        return await build_context(request, response, request_credentials(request))

    async def render_graphql_ide(self, request: Request) -> Response:
        # The offline GraphiQL (assets served by this app), not strawberry's unpkg page.
        return graphiql_page()

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        # Strawberry compares Origin with Host; behind a proxy the own origin may differ.
        own = same_origin(origin, server_origin(request))
        return own or super().is_websocket_origin_allowed(request, origin)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # Browsers cannot set headers on a websocket: the token may come in connection_init.
        await self.refresh_viewer(context)
        acknowledged: UnsetType = UNSET
        return acknowledged

    async def refresh_viewer(self, context: Context) -> None:
        """The session as it is now; run for connection_init and again for every operation."""
        credentials = websocket_credentials(context.request, context.connection_params)
        fresh = await build_context(context.request, context.response, credentials)
        context.viewer, context.auth_error = fresh.viewer, fresh.auth_error

    def decode_json(self, data: str | bytes) -> object:
        try:
            decoded = super().decode_json(data)
        except RecursionError:
            raise HTTPException(400, "The JSON body is nested too deeply") from None
        except ValueError as error:
            if isinstance(error, json.JSONDecodeError):
                raise
            # Python parses no integer of more than 4,300 digits (sys.int_info): answered
            # as the JSON error it is (a 400 over HTTP, close 4400 over a WebSocket).
            raise json.JSONDecodeError("A number has too many digits", str(data), 0) from None
        if not isinstance(decoded, dict | list):
            raise HTTPException(400, "The JSON body must be an object")
        return decoded

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = _SubResponse()
        sub_response.status_code = None  # type: ignore[assignment]
        del sub_response.headers["content-length"]
        sub_response.graphql_response = wants_graphql_response(request.headers.get("accept"))
        return sub_response

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST":
            content_type, _ = parse_content_type(request.content_type or "")
            if content_type != JSON:
                # Forms and multipart bodies are what a cross-site page can send unasked.
                raise HTTPException(415, "POST bodies must be application/json")
        return await super().parse_http_body(request)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        problem = variables_problem(request_data.variables, signed_in=context.viewer is not None)
        if problem is not None:
            raise HTTPException(400, problem)
        documents: DocumentCache | None = getattr(self.schema, "documents", None)
        if documents is not None and request_data.query:
            # Examined off the loop when long; strawberry's parse step then finds it kept.
            await documents.outcome(request_data.query)
        # The operation type comes from that one token-limited parse: a subscription is
        # refused after it, before validation, never by parsing the text again.
        get = request_adapter.method == "GET"
        allowed = {OperationType.QUERY} if get else {OperationType.QUERY, OperationType.MUTATION}
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(
                    400, "Subscriptions need a WebSocket (graphql-transport-ws)"
                ) from error
            raise HTTPException(405, "Only queries may be sent with GET") from error
        except CannotGetOperationTypeError as error:
            raise HTTPException(400, error.as_http_error_reason()) from error
        except MissingQueryError as error:
            raise HTTPException(400, "No GraphQL query found in the request") from error

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        if wants_graphql_response(request.headers.get("accept")) and is_request_error(response):
            # The spec: a request error carries no data entry at all.
            response.pop("data", None)
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if getattr(sub_response, "graphql_response", False):
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if isinstance(response_data, dict) and "data" not in response_data:
                response.status_code = 400
        if isinstance(response_data, dict):
            errors: list[dict[str, Any]] = response_data.get("errors") or []  # type: ignore[assignment]
            retry_after = unavailable_retry_after(errors)
            if retry_after is not None:
                response.status_code = 503
                response.headers.update(unavailable_headers(retry_after))
        return response
