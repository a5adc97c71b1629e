"""The static cost of an operation, checked before anything executes.

What an operation costs is what the executor would build: every object costs 1, a scalar
read off an attribute 0 and a scalar with its own resolver (``totalCount``: a statement) 1.
A connection (a field that takes ``first``) holds a page of that size: its list (``edges``)
costs the page size times the cost of one item, its other fields (``pageInfo``,
``totalCount``) once. The page size is the literal or the coerced variable, 50 when absent,
never more than the largest page a connection serves (a bigger ``first`` is refused by the
resolver itself). Fragments count where they are spread, aliases each time, ``@skip`` and
``@include`` are ignored: the cost is an upper bound of the work, computed from the
document alone, so a refusal happens before any resolver, counter or audit event.

Each fragment's cost is computed once: fragments spreading fragments twice over cost
linear time here, however large the number they add up to.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import get_variable_values
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.resolvers import is_default_resolver

from gql_portal.api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from gql_portal.errors import BadUserInputError

PAGE_ARGUMENT = "first"
FieldsType = GraphQLObjectType | GraphQLInterfaceType


class QueryCostError(BadUserInputError):
    def __init__(self, cost: int, max_cost: int) -> None:
        super().__init__(
            f"The query costs {cost}, more than the {max_cost} allowed: ask for smaller"
            " pages or fewer fields",
            cost=cost,
            maxCost=max_cost,
        )


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.fragment_costs: dict[tuple[str, int | None], int] = {}
        self.visiting: set[str] = set()

    def selection_cost(
        self, parent: FieldsType, selection_set: SelectionSetNode | None, page: int | None = None
    ) -> int:
        """``page``: the page size of the connection whose selection this is."""
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                field = parent.fields.get(selection.name.value)
                if field is not None:  # __typename and introspection: nothing to build
                    total += self.field_cost(field, selection, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = self._fields_type(condition.name.value) if condition else parent
                total += self.selection_cost(kind or parent, selection.selection_set, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment_cost(selection.name.value, parent, page)
        return total

    def fragment_cost(self, name: str, parent: FieldsType, page: int | None) -> int:
        known = self.fragment_costs.get((name, page))
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self.visiting:
            return 0  # unknown or cyclic: validation has refused such a document already
        self.visiting.add(name)
        kind = self._fields_type(fragment.type_condition.name.value) or parent
        cost = self.selection_cost(kind, fragment.selection_set, page)
        self.visiting.discard(name)
        self.fragment_costs[(name, page)] = cost
        return cost

    def field_cost(self, field: GraphQLField, node: FieldNode, page: int | None) -> int:
        named = get_named_type(field.type)
        if is_leaf_type(named):
            return 0 if field.resolve is not None and is_default_resolver(field.resolve) else 1
        is_list = is_list_type(get_nullable_type(field.type))
        # A connection never serves more than MAX_PAGE_SIZE; a plain list is taken at its word.
        own_page = self.page_size(field, node, None if is_list else MAX_PAGE_SIZE)
        if is_list and own_page is not None:
            # A list that takes ``first`` itself (BulkJob.importRows, errors) holds that many.
            count, own_page = own_page, None
        else:
            # A connection's list (its edges) holds a page of objects; anything else one.
            count = page if page is not None and is_list else 1
        inner = 0
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            inner = self.selection_cost(named, node.selection_set, own_page)
        return count * (1 + inner)

    def page_size(self, field: GraphQLField, node: FieldNode, cap: int | None) -> int | None:
        if PAGE_ARGUMENT not in field.args:
            return None
        value: object = None
        for argument in node.arguments or ():
            if argument.name.value != PAGE_ARGUMENT:
                continue
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value)
        if not isinstance(value, int) or isinstance(value, bool):
            default = field.args[PAGE_ARGUMENT].default_value  # the schema's own default
            value = default if isinstance(default, int) else DEFAULT_PAGE_SIZE
        return max(0, value if cap is None else min(value, cap))

    def _fields_type(self, name: str) -> FieldsType | None:
        kind = self.schema.get_type(name)
        return kind if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType) else None


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    """The cost of a validated operation, with its variables already coerced."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    return _Walker(schema, fragments, variables).selection_cost(root, operation.selection_set)


def check_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    raw_variables: Mapping[str, Any] | None,
    *,
    max_cost: int,
    known_cost: int | None = None,
) -> GraphQLError | None:
    """The refusal of an operation over ``max_cost``, or None to run it. ``known_cost``:
    the cost of an operation without variables, computed once (api/documents.py).

    Variables that do not coerce are left to the executor, which refuses them before any
    resolver runs.
    """
    if known_cost is not None:
        return None if known_cost <= max_cost else _refusal(known_cost, max_cost)
    variables: Mapping[str, Any] = {}
    if operation.variable_definitions:
        coerced = get_variable_values(
            schema, operation.variable_definitions, dict(raw_variables or {}), max_errors=1
        )
        if isinstance(coerced, list):
            return None
        variables = coerced.coerced
    cost = operation_cost(schema, operation, fragments, variables)
    return None if cost <= max_cost else _refusal(cost, max_cost)


def _refusal(cost: int, max_cost: int) -> GraphQLError:
    error = QueryCostError(cost, max_cost)
    return GraphQLError(error.message, original_error=error)


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


class QueryCostLimit(SchemaExtension):
    """The same check for strawberry's own execution (GET, streaming, WebSocket)."""

    def __init__(self, *, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = (
            None if document is None else get_operation_ast(document, context.operation_name)
        )
        if document is not None and operation is not None and context.result is None:
            refusal = check_cost(
                context.schema._schema,
                operation,
                fragments_of(document),
                context.variables,
                max_cost=self.max_cost,
            )
            if refusal is not None:
                if operation.operation is OperationType.SUBSCRIPTION:
                    raise refusal  # a subscription ignores a result set here
                context.result = GraphQLExecutionResult(data=None, errors=[refusal])
        yield
