"""Every error leaves with a contract code; anything unexpected is masked and logged."""

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gql_portal.api.validation import production_message
from gql_portal.dependencies import unavailable_error
from gql_portal.errors import ErrorCode, PortalError, ServiceUnavailableError
from gql_portal.logs import REQUEST_ID

log = logging.getLogger("gql_portal.errors")
MASKED_MESSAGE = "Internal server error"


def _request_id(extension: SchemaExtension) -> str | None:
    context = extension.execution_context.context
    meta = getattr(context, "meta", None)
    return getattr(meta, "request_id", None) or REQUEST_ID.get()


def ensure_codes(errors: list[GraphQLError]) -> list[GraphQLError]:
    """For errors raised outside the operation hooks (a ParserCache syntax error)."""
    return [
        error
        if "code" in (error.extensions or {})
        else shape_error(error, REQUEST_ID.get(), hide_suggestions=True)
        for error in errors
    ]


def shape_error(
    error: GraphQLError, request_id: str | None, *, hide_suggestions: bool = False
) -> GraphQLError:
    original = error.original_error
    if original is None and error.extensions and "code" in error.extensions:
        if "requestId" in error.extensions or request_id is None:
            return error  # shaped already (a streamed result passes two hooks)
        return _rebuilt(error, error.message, {**error.extensions, "requestId": request_id})
    refused = _refused_value(error)
    if refused:
        original = None
    if original is not None and not isinstance(original, GraphQLError | PortalError):
        # A dependency fault is an answer ("try again"), not a masked internal error.
        original = unavailable_error(original) or original
    if isinstance(original, ServiceUnavailableError):
        extensions = {"code": original.code.value, **original.extensions, "requestId": request_id}
        message = original.message
    elif isinstance(original, PortalError):
        extensions = {"code": original.code.value, **original.extensions}
        message = original.message
    elif original is None or isinstance(original, GraphQLError):
        # Syntax, validation and variable coercion errors: the client sent a bad request.
        extensions = {"code": ErrorCode.BAD_USER_INPUT.value}
        message = _refusal_message(error.message) if refused else error.message
        if hide_suggestions:
            message = production_message(message)
    else:
        log.error(
            "unexpected error in %s (request %s)",
            ".".join(str(part) for part in error.path or ()),
            request_id,
            exc_info=original,
        )
        extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id}
        message = MASKED_MESSAGE
    if request_id is not None:
        extensions["requestId"] = request_id
    return _rebuilt(error, message, extensions)


def _rebuilt(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    """The error as the client sees it: same place, the contract's message and extensions."""
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def _refused_value(error: GraphQLError) -> bool:
    """A literal or variable a scalar could not parse: graphql-core reports it with the
    parser's exception attached (``int()`` refuses 5,000 digits with a ValueError), at a
    location of the document and before any field ran (no path). The client's input."""
    return (
        error.path is None
        and bool(error.nodes)
        and isinstance(error.original_error, ValueError | TypeError | OverflowError)
    )


def _refusal_message(message: str) -> str:
    """graphql-core's "Expected value of type 'Int', but encountered error '<exception
    text>'; found: <the literal>.": the type is the answer; neither Python's advice nor a
    5,000-digit echo belongs in it."""
    return message.partition(", but encountered error")[0] + "."


def unavailable_retry_after(errors: Iterable[Mapping[str, Any]]) -> int | None:
    """Seconds for Retry-After when an answer carries SERVICE_UNAVAILABLE (it is then a 503),
    else None. Reads formatted errors, so the fast path and strawberry's view share it."""
    waits = [
        int(extensions.get("retryAfter") or 1)
        for error in errors
        if (extensions := error.get("extensions") or {}).get("code")
        == ErrorCode.SERVICE_UNAVAILABLE.value
    ]
    return max(waits) if waits else None


def unavailable_headers(retry_after: int) -> dict[str, str]:
    return {"retry-after": str(retry_after)}


def unavailable_body(error: ServiceUnavailableError, request_id: str | None) -> dict[str, Any]:
    """The answer to a dependency fault met before execution (reading the session)."""
    extensions = {"code": error.code.value, **error.extensions, "requestId": request_id}
    return {"data": None, "errors": [{"message": error.message, "extensions": extensions}]}


class ErrorCodes(SchemaExtension):
    hide_suggestions = False

    def on_operation(self) -> Iterator[None]:
        yield
        self._shape(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # WebSocket operations stream their results: shape each before it is sent.
        self._shape(result)
        yield None

    def _shape(self, result: Any) -> None:
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            request_id = _request_id(self)
            result.errors = [
                shape_error(error, request_id, hide_suggestions=self.hide_suggestions)
                for error in errors
            ]


class ProductionErrorCodes(ErrorCodes):
    """No "Did you mean ...?": suggestions would reveal the schema introspection hides."""

    hide_suggestions = True
