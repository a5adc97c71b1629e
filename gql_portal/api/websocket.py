"""graphql-transport-ws: subscriptions only, each one checked against the session as it is
now (a token logged out, reset or sent through the 2FA gate since connection_init counts)."""

from typing import Any

from graphql import GraphQLError, GraphQLFormattedError, OperationType, get_operation_ast
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ErrorMessage,
    Message,
    SubscribeMessage,
)

from gql_portal.api.context import Context
from gql_portal.errors import ErrorCode

SUBSCRIPTIONS_ONLY = (
    "WebSocket carries subscriptions only: send queries and mutations with POST /graphql"
)


def refusal(message: str) -> list[GraphQLFormattedError]:
    error = GraphQLError(message, extensions={"code": ErrorCode.BAD_USER_INPUT.value})
    return [error.formatted]


class SubscriptionsOnlyHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message.get("payload") or {}
        query = payload.get("query")
        if not isinstance(query, str):
            await self._refuse(message["id"], "The subscribe payload needs a query string")
            return
        # The one token-limited parse (api/documents.py), off the loop for a long text.
        found = await self.schema.documents.outcome(query)  # type: ignore[attr-defined]
        if found.document is None:
            await self._refuse(message["id"], found.errors[0].message)
            return
        try:
            operation = get_operation_ast(found.document, payload.get("operationName"))
        except GraphQLError as error:
            await self._refuse(message["id"], error.message)
            return
        if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
            await self._refuse(message["id"], SUBSCRIPTIONS_ONLY)
            return
        await self.view.refresh_viewer(self.context)  # type: ignore[attr-defined]
        await super().handle_subscribe(message)

    async def send_message(self, message: Message) -> None:
        # Subscription errors skip the ErrorCodes extension: a dependency fault gets the
        # connection's request id here, as it does over HTTP (CONTRACT section 8).
        payload: Any = message.get("payload")
        errors = payload if message["type"] == "error" else (payload or {}).get("errors")
        for error in errors or ():
            extensions = error.get("extensions") or {}
            if extensions.get("code") == ErrorCode.SERVICE_UNAVAILABLE.value:
                extensions.setdefault("requestId", self.context.meta.request_id)
        await super().send_message(message)

    async def _refuse(self, operation_id: str, reason: str) -> None:
        message: ErrorMessage = {"id": operation_id, "type": "error", "payload": refusal(reason)}
        await self.send_message(message)
