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

What the fast path does is read off the schema's own extension list (``from_schema``):
each extension it knows is one step here, with the extension's own settings; a schema
with any other extension gets no fast path at all, so nothing the schema asks for is
skipped. Neither is there one when the setting is off or the installed strawberry or
graphql-core are outside the tested range (api/fast_path.py).
"""

import logging
import time
from collections.abc import Awaitable
from inspect import isawaitable
from typing import Any, NamedTuple

import orjson
from graphql import ExecutionResult, GraphQLError, execute
from starlette.requests import Request
from starlette.responses import Response
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.extensions import SchemaExtension

from gql_portal.api.context import Context
from gql_portal.api.cost import QueryCostLimit, check_cost
from gql_portal.api.documents import DocumentCache, PreparedDocuments, PreparedOperation
from gql_portal.api.errors import (
    ErrorCodes,
    ProductionErrorCodes,
    shape_error,
    unavailable_headers,
    unavailable_retry_after,
)
from gql_portal.api.fast_path import version_problem
from gql_portal.api.schema import PortalSchema
from gql_portal.http.graphql_metrics import OperationMetrics, record_operation
from gql_portal.http.media import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    is_request_error,
    wants_graphql_response,
)
from gql_portal.settings import Settings

log = logging.getLogger("gql_portal.fast_path")

# Accept values that ask for a streamed answer (incremental delivery, SSE): the view's.
STREAMING_MEDIA = ("multipart/mixed", "text/event-stream")
# The schema extensions whose work FastOperations does itself.
APPLIED_EXTENSIONS = (
    OperationMetrics,
    ErrorCodes,
    ProductionErrorCodes,
    PreparedDocuments,
    QueryCostLimit,
)


class OperationFields(NamedTuple):
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def _operation_fields(body: Any) -> OperationFields | None:
    """query, variables, operationName and extensions of a well-formed single operation."""
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
    return OperationFields(query, variables, operation_name, extensions)


class FastOperations:
    def __init__(
        self,
        schema: PortalSchema,
        documents: DocumentCache,
        *,
        hide_suggestions: bool,
        max_cost: int | None,
        metrics: bool,
        applied: tuple[type[SchemaExtension], ...] = (),
    ):
        self.schema = schema
        self.documents = documents
        self.hide_suggestions = hide_suggestions
        self.max_cost = max_cost  # None: the schema checks no cost
        self.metrics = metrics
        # The schema's extensions, in its order, whose steps this runs.
        self.applied = applied

    @classmethod
    def from_schema(cls, schema: PortalSchema) -> "FastOperations | str":
        """The fast path for the schema's extensions, or why there can be none."""
        documents: DocumentCache | None = None
        hide_suggestions: bool | None = None
        max_cost: int | None = None
        metrics = False
        applied: list[type[SchemaExtension]] = []
        for extension in schema.get_extensions():
            kind = type(extension)
            # The fast path runs no middleware: an extension with a resolve hook is foreign.
            if kind not in APPLIED_EXTENSIONS or kind.resolve is not SchemaExtension.resolve:
                return (
                    f"fast path off: the schema's extension {kind.__qualname__} is not one it"
                    " applies; strawberry's view answers every request"
                )
            applied.append(kind)
            if isinstance(extension, PreparedDocuments):
                documents = extension.documents
            elif isinstance(extension, ErrorCodes):
                hide_suggestions = extension.hide_suggestions
            elif isinstance(extension, QueryCostLimit):
                max_cost = extension.max_cost
            else:
                metrics = True
        if documents is None or hide_suggestions is None:
            return (
                "fast path off: the schema has no PreparedDocuments or no ErrorCodes extension;"
                " strawberry's view answers every request"
            )
        return cls(
            schema,
            documents,
            hide_suggestions=hide_suggestions,
            max_cost=max_cost,
            metrics=metrics,
            applied=tuple(applied),
        )

    def accepts(self, request: Request) -> bool:
        if request.method != "POST":
            return False
        content_type = request.headers.get("content-type", "").partition(";")[0]
        accept = request.headers.get("accept", "")
        return content_type.strip().lower() == JSON and not any(
            kind in accept for kind in STREAMING_MEDIA
        )

    async def prepare(self, request: Request) -> tuple[PreparedOperation, OperationFields] | None:
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
        prepared = await self.documents.prepare(fields.query, fields.operation_name)
        return None if prepared is None else (prepared, fields)

    async def execute(
        self, prepared: PreparedOperation, fields: OperationFields, context: Context
    ) -> tuple[dict[str, Any] | None, list[GraphQLError]]:
        started = time.perf_counter()
        refusal = None
        if self.max_cost is not None:  # QueryCostLimit
            refusal = check_cost(
                self.schema._schema,
                prepared.operation,
                prepared.fragments,
                fields.variables,
                max_cost=self.max_cost,
                known_cost=prepared.static_cost,
            )
        if refusal is not None:
            data, errors = None, [refusal]
        else:
            data, errors = await self._run(prepared, fields, context)
        request_id = context.meta.request_id
        errors = [  # ErrorCodes / ProductionErrorCodes
            shape_error(error, request_id, hide_suggestions=self.hide_suggestions)
            for error in errors
        ]
        if self.metrics:  # OperationMetrics
            record_operation(
                prepared.operation_type.value,
                prepared.operation,
                data,
                errors,
                time.perf_counter() - started,
            )
        return data, errors

    async def _run(
        self, prepared: PreparedOperation, fields: OperationFields, context: Context
    ) -> tuple[dict[str, Any] | None, list[GraphQLError]]:
        try:
            outcome: ExecutionResult | Awaitable[ExecutionResult] = execute(
                self.schema._schema,
                prepared.document,
                context_value=context,
                variable_values=fields.variables,
                operation_name=fields.operation_name,
                executor_class=self.schema.execution_context_class,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                hide_suggestions=self.hide_suggestions,
                # Passed on to the executor: info.operation_extensions, as strawberry does.
                operation_extensions=fields.extensions,
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


def fast_operations(schema: PortalSchema, settings: Settings) -> FastOperations | None:
    """The app's fast path, or None (strawberry's view answers every request): the setting
    is off, or one WARNING line says why it was refused at start-up."""
    if not settings.fast_path:
        return None
    found = version_problem() or FastOperations.from_schema(schema)
    if isinstance(found, str):
        log.warning(found)
        return None
    return found
