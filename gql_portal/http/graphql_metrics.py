"""Count what each root field answered (after ErrorCodes has shaped the errors)."""

import time
from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from gql_portal import metrics

SECOND_FACTOR_FIELDS = frozenset(
    {"verifyTotp", "confirmTotpEnrollment", "verifyRecoveryCode", "regenerateRecoveryCodes"}
)
REFUSED = "(refused)"


def _code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    return code if isinstance(code, str) else "INTERNAL_SERVER_ERROR"


def _direct_fields(selection_set: SelectionSetNode) -> Iterator[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _direct_fields(selection.selection_set)


def record_operation(
    operation_type: str,
    operation: OperationDefinitionNode | None,
    data: dict[str, Any] | None,
    errors: list[GraphQLError],
    seconds: float,
) -> None:
    """Latency by operation type, then one count per root field with its outcome."""
    metrics.child(metrics.GRAPHQL_LATENCY, operation_type).observe(seconds)
    if data is None and errors and all(not error.path for error in errors):
        metrics.child(metrics.GRAPHQL_OPERATIONS, REFUSED, _code(errors[0])).inc()
        return
    if operation is None:
        return
    codes = {str(error.path[0]): _code(error) for error in reversed(errors) if error.path}
    # Errors of the root field itself, not of a field inside its answer.
    raised = {
        str(error.path[0]): _code(error) for error in errors if error.path and len(error.path) == 1
    }
    for field in _direct_fields(operation.selection_set):
        key = (field.alias or field.name).value
        _count(field.name.value, codes.get(key, "OK"), raised.get(key))


def _count(name: str, outcome: str, raised: str | None) -> None:
    metrics.child(metrics.GRAPHQL_OPERATIONS, name, outcome).inc()
    if name == "login":
        # A login the service answered counted its status there, whatever the client
        # selects (accounts/services.py); here only a login that failed, by its code.
        if raised is not None:
            metrics.child(metrics.LOGINS, raised).inc()
    elif name in SECOND_FACTOR_FIELDS:
        metrics.child(metrics.VERIFICATIONS, name, outcome).inc()


class OperationMetrics(SchemaExtension):
    """record_operation for operations strawberry runs (WebSocket, the view's slow path)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        try:
            operation_type = context.operation_type.value
        except RuntimeError:
            operation_type = "unknown"
        result = context.result
        if result is None or not hasattr(result, "errors"):
            metrics.child(metrics.GRAPHQL_LATENCY, operation_type).observe(
                time.perf_counter() - started
            )
            return
        document = context.graphql_document
        record_operation(
            operation_type,
            get_operation_ast(document, context.operation_name) if document else None,
            getattr(result, "data", None),
            list(result.errors or []),
            time.perf_counter() - started,
        )
