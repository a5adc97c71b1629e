"""Valid documents, parsed and validated once.

The HTTP fast path (api/operation.py) runs only documents found here: the text parsed
within the token limit, validated against the schema with the portal's rules, and its
operation a query or a mutation. A document that fails any of that is not cached: the
request goes to strawberry's view, which answers it with the usual errors.
"""

from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    specified_rules,
    validate,
)
from graphql.utilities import get_operation_ast
from graphql.validation import ASTValidationRule

from gql_portal.api.cost import fragments_of, operation_cost

# Texts longer than this are checked every time instead of kept (the body limit is 100 kB).
LONGEST_CACHED = 20_000


@dataclass(frozen=True, slots=True)
class PreparedOperation:
    document: DocumentNode
    operation: OperationDefinitionNode
    # For the cost check (api/cost.py) on every request; without variables the cost is
    # the same every time, computed here once.
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    static_cost: int | None = None

    @property
    def operation_type(self) -> OperationType:
        return self.operation.operation


class DocumentCache:
    def __init__(
        self,
        schema: GraphQLSchema,
        rules: Collection[type[ASTValidationRule]],
        *,
        max_tokens: int,
        maxsize: int = 1000,
    ) -> None:
        self.schema = schema
        self.rules = [*specified_rules, *rules]
        self.max_tokens = max_tokens
        self.maxsize = maxsize
        self._entries: OrderedDict[tuple[str, str | None], PreparedOperation] = OrderedDict()

    def get(self, query: str, operation_name: str | None) -> PreparedOperation | None:
        """The operation to run, or None when strawberry's view must answer."""
        key = (query, operation_name)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return found
        prepared = self._prepare(query, operation_name)
        if prepared is not None and len(query) <= LONGEST_CACHED:
            self._entries[key] = prepared
            if len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return prepared

    def _prepare(self, query: str, operation_name: str | None) -> PreparedOperation | None:
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError:
            return None
        if validate(self.schema, document, self.rules):
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is OperationType.SUBSCRIPTION:
            return None
        fragments = fragments_of(document)
        static_cost = (
            None
            if operation.variable_definitions
            else operation_cost(self.schema, operation, fragments, {})
        )
        return PreparedOperation(
            document=document, operation=operation, fragments=fragments, static_cost=static_cost
        )
