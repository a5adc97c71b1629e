"""The HTTP fast path: a JSON POST of a known-valid query or mutation, run in one function.

strawberry's view and ``Schema.execute`` pass every request through a dozen extension
hooks (parser and validation caches, the token limit, error codes, metrics), each a
context manager built per request; for ``me`` that was most of the request's cost
(bench/README.md, 7.1). Here the same work is done directly: the document comes from
api/documents.py (parsed within the token limit and validated with the portal's rules
once), graphql-core executes it with the portal's executor, errors get their contract
codes from api/errors.py and the metrics are recorded by http/graphql_metrics.py.

Everything else (GET, batches, streaming, bodies that are not a JSON object, documents
that do not parse or validate, subscriptions) returns None and is answered by
strawberry's view exactly as before, so its error answers stay one implementation.
"""

import time
from collections.abc import Awaitable
from inspect import isawaitable
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, execute
from starlette.requests import Request
from starlette.responses import Response
from strawberry.execution.is_awaitable import optimized_is_awaitable

from gql_portal.api.context import Context
from gql_portal.api.cost import check_cost
from gql_portal.api.documents import DocumentCache, PreparedOperation
from gql_portal.api.errors import shape_error, unavailable_headers, unavailable_retry_after
from gql_portal.api.schema import PortalSchema
from gql_portal.http.graphql_metrics import record_operation
from gql_portal.http.media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    is_request_error,
    wants_graphql_response,
)
from gql_portal.settings import Settings

# Accept values that ask for a streamed answer (incremental delivery, SSE): the view's.
STREAMING_MEDIA = ("multipart/mixed", "text/event-stream")


def _operation_fields(body: Any) -> tuple[str, dict[str, Any] | None, str | None] | None:
    """query, variables and operationName of a well-formed single operation, else None."""
    if not isinstance(body, dict):
        return None
    query = body.get("query")
    variables = body.get("variables")
    operation_name = body.get("operationName")
    extensions = body.get("extensions")
    if (
        not isinstance(query, str)
        or not isinstance(variables, dict | None)
        or not isinstance(operation_name, str | None)
        or not isinstance(extensions, dict | None)
    ):
        return None
    return query, variables, operation_name


class FastOperations:
    def __init__(
        self, schema: PortalSchema, documents: DocumentCache, *, production: bool, max_cost: int
    ):
        self.schema = schema
        self.documents = documents
        self.hide_suggestions = production
        self.max_cost = max_cost

    def accepts(self, request: Request) -> bool:
        if request.method != "POST":
            return False
        content_type = request.headers.get("content-type", "").partition(";")[0]
        accept = request.headers.get("accept", "")
        return content_type.strip().lower() == JSON and not any(
            kind in accept for kind in STREAMING_MEDIA
        )

    async def prepare(
        self, request: Request
    ) -> tuple[PreparedOperation, dict[str, Any] | None, str | None] | None:
        """The operation this request asks for, when the fast path can run it."""
        if not self.accepts(request):
            return None
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None  # the view answers with its 400
        fields = _operation_fields(body)
        if fields is None:
            return None
        query, variables, operation_name = fields
        prepared = await self.documents.prepare(query, operation_name)
        return None if prepared is None else (prepared, variables, operation_name)

    async def execute(
        self,
        prepared: PreparedOperation,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Context,
    ) -> tuple[dict[str, Any] | None, list[GraphQLError]]:
        started = time.perf_counter()
        refusal = check_cost(
            self.schema._schema,
            prepared.operation,
            prepared.fragments,
            variables,
            max_cost=self.max_cost,
            known_cost=prepared.static_cost,
        )
        if refusal is not None:
            data, errors = None, [refusal]
        else:
            data, errors = await self._run(prepared, variables, operation_name, context)
        request_id = context.meta.request_id
        errors = [
            shape_error(error, request_id, hide_suggestions=self.hide_suggestions)
            for error in errors
        ]
        record_operation(
            prepared.operation_type.value,
            prepared.operation,
            data,
            errors,
            time.perf_counter() - started,
        )
        return data, errors

    async def _run(
        self,
        prepared: PreparedOperation,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Context,
    ) -> tuple[dict[str, Any] | None, list[GraphQLError]]:
        try:
            outcome: ExecutionResult | Awaitable[ExecutionResult] = execute(
                self.schema._schema,
                prepared.document,
                context_value=context,
                variable_values=variables,
                operation_name=operation_name,
                executor_class=self.schema.execution_context_class,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                hide_suggestions=self.hide_suggestions,
            )
            result = await outcome if isawaitable(outcome) else outcome
            return result.data, list(result.errors or ())
        except Exception as error:
            return None, [GraphQLError(str(error), original_error=error)]

    @staticmethod
    def response(
        request: Request, data: dict[str, Any] | None, errors: list[GraphQLError]
    ) -> Response:
        body: dict[str, Any] = {"data": data}
        if errors:
            body["errors"] = [error.formatted for error in errors]
        status = 200
        headers = None
        media_type = JSON
        if wants_graphql_response(request.headers.get("accept")):
            media_type = GRAPHQL_RESPONSE_JSON
            if is_request_error(body):
                # A request error (variables that do not coerce): no data entry, 400.
                del body["data"]
                status = 400
        if errors and (retry_after := unavailable_retry_after(body["errors"])) is not None:
            # A dependency is down: proxies and clients know to retry, monitors to count it.
            status = 503
            headers = unavailable_headers(retry_after)
        return Response(
            orjson.dumps(body), status_code=status, headers=headers, media_type=media_type
        )


def fast_operations(schema: PortalSchema, settings: Settings) -> FastOperations:
    return FastOperations(
        schema,
        schema.documents,
        production=settings.is_production,
        max_cost=settings.max_query_cost,
    )
