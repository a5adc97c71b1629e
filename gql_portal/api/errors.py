"""Every error leaves with a contract code; anything unexpected is masked and logged."""

import logging
from collections.abc import Iterator
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
        return error  # shaped already (a streamed result passes two hooks)
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
        message = production_message(error.message) if hide_suggestions else error.message
    else:
        log.error(
            "unexpected error in %s (request %s)",
            ".".join(str(part) for part in error.path or ()),
            request_id,
            exc_info=original,
        )
        extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id}
        message = MASKED_MESSAGE
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


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
