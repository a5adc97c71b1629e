"""Every GraphQL document parsed and validated once, off the event loop when it is long.

The HTTP fast path (api/operation.py), strawberry's view (GET, refused documents) and the
WebSocket all take their document from here (``PreparedDocuments`` is strawberry's parse
and validate step; the view and the WebSocket handler ask ``outcome`` first, so a long
text is examined off the loop): the text parsed within the token limit, then the portal's limits
(depth, aliases, repeats, directives, credential fields), and only for a document within
them graphql-core's specified rules (whose OverlappingFieldsCanBeMerged is quadratic in
repeated fields) and the two strawberry adds. The outcome (the document, or its errors) is
kept per text, so the view's second look at a document the fast path refused costs nothing.

Parsing and validating 2,000 tokens costs tens of milliseconds of CPU; on the event loop
that would stall every other request (issue 11.1). Texts longer than ``INLINE_TEXT`` are
therefore prepared in one worker thread: graphql-core's parser and validator are pure
functions of the text and the (read-only) schema.
"""

import asyncio
import re
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Source,
    parse,
    specified_rules,
    validate,
)
from graphql.language import SourceLocation
from graphql.utilities import get_operation_ast
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from gql_portal.api.cost import fragments_of, operation_cost

# Texts longer than this are kept only among the last few (the body limit is 100 kB).
LONGEST_CACHED = 20_000
RECENT_LONG_TEXTS = 8
# Up to about 300 tokens: well under a millisecond to parse and validate on the loop.
INLINE_TEXT = 1_000
# Every error costs its location and its shaping; a client needs the first few to fix it.
MAX_VALIDATION_ERRORS = 20
# What strawberry validates a document with when it validates it itself: graphql-core's
# specified rules and the two its validate_document adds. PreparedDocuments skips that step
# on strawberry's path, so the cache applies them all, for both paths
# (tests/http/test_fast_path_parity.py compares them with a real strawberry validation).
STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (
    *specified_rules,
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)


_NEWLINE = re.compile(r"\r\n|[\n\r]")


class IndexedSource(Source):
    """graphql-core finds an error's line by scanning the text for newlines from its start,
    again for every error: milliseconds per error for a 100 kB text, on the event loop.
    Here the newlines are found once and each location is a binary search."""

    _newlines: list[tuple[int, int]] | None = None

    def get_location(self, position: int) -> SourceLocation:
        if self._newlines is None:
            self._newlines = [match.span() for match in _NEWLINE.finditer(self.body)]
        before = bisect_left(self._newlines, (position, -1))
        line_start = self._newlines[before - 1][1] if before else 0
        return SourceLocation(before + 1, position + 1 - line_start)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A parsed document and its validation errors, or no document and the syntax error."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]


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
        hide_suggestions: bool = False,
        maxsize: int = 1000,
    ) -> None:
        self.schema = schema
        self.limit_rules = list(rules)
        self.max_tokens = max_tokens
        self.hide_suggestions = hide_suggestions
        self.maxsize = maxsize
        self._entries: OrderedDict[str, Outcome] = OrderedDict()
        self._recent: OrderedDict[str, Outcome] = OrderedDict()
        # The operation of a valid text with its fragments and static cost, for every request.
        self._operations: OrderedDict[tuple[str, str | None], PreparedOperation] = OrderedDict()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gql-documents")

    @property
    def rules(self) -> tuple[type[ASTValidationRule], ...]:
        """Every rule a document is validated with, the portal's limits first."""
        return (*self.limit_rules, *STRAWBERRY_RULES)

    async def outcome(self, query: str) -> Outcome:
        """The outcome for this text; a long text not seen yet is examined in the thread."""
        found = self._kept(query).get(query)
        if found is None and len(query) > INLINE_TEXT:
            loop = asyncio.get_running_loop()
            found = await loop.run_in_executor(self._thread, self.examine, query)
        return self._keep(query, found)

    def outcome_now(self, query: str) -> Outcome:
        """The same, examined here when not seen yet: for strawberry's synchronous hooks,
        which the HTTP view and the WebSocket call only after ``outcome``."""
        return self._keep(query, self._kept(query).get(query))

    def _kept(self, query: str) -> OrderedDict[str, Outcome]:
        return self._entries if len(query) <= LONGEST_CACHED else self._recent

    def _keep(self, query: str, found: Outcome | None) -> Outcome:
        kept = self._kept(query)
        if found is None:
            found = self.examine(query)
        kept[query] = found
        kept.move_to_end(query)
        if len(kept) > (self.maxsize if kept is self._entries else RECENT_LONG_TEXTS):
            kept.popitem(last=False)
        return found

    async def prepare(self, query: str, operation_name: str | None) -> PreparedOperation | None:
        """The valid query or mutation to run, or None when strawberry's view must answer."""
        key = (query, operation_name)
        prepared = self._operations.get(key)
        if prepared is not None:
            self._operations.move_to_end(key)
            return prepared
        prepared = await self._prepare(query, operation_name)
        if prepared is not None and len(query) <= LONGEST_CACHED:
            self._operations[key] = prepared
            if len(self._operations) > self.maxsize:
                self._operations.popitem(last=False)
        return prepared

    async def _prepare(self, query: str, operation_name: str | None) -> PreparedOperation | None:
        found = await self.outcome(query)
        if found.document is None or found.errors:
            return None
        operation = get_operation_ast(found.document, operation_name)
        if operation is None or operation.operation is OperationType.SUBSCRIPTION:
            return None
        fragments = fragments_of(found.document)
        static_cost = (
            None
            if operation.variable_definitions
            else operation_cost(self.schema, operation, fragments, {})
        )
        return PreparedOperation(
            document=found.document,
            operation=operation,
            fragments=fragments,
            static_cost=static_cost,
        )

    def examine(self, query: str) -> Outcome:
        """Parse and validate; pure, so it may run in the worker thread."""
        try:
            document = parse(IndexedSource(query), max_tokens=self.max_tokens)
        except GraphQLError as error:
            return Outcome(None, (error,))
        # The portal's limits are linear in the document; the specified rules (quadratic in
        # repeated fields) run only on a document within them.
        errors = self._validate(document, self.limit_rules) or self._validate(
            document, STRAWBERRY_RULES
        )
        return Outcome(document, tuple(errors))

    def _validate(
        self, document: DocumentNode, rules: Collection[type[ASTValidationRule]]
    ) -> list[GraphQLError]:
        return validate(
            self.schema,
            document,
            rules,
            max_errors=MAX_VALIDATION_ERRORS,
            hide_suggestions=self.hide_suggestions,
        )


class PreparedDocuments(SchemaExtension):
    """strawberry's parse and validate steps, answered by the DocumentCache (it replaces
    MaxTokensLimiter, ParserCache, AddValidationRules and ValidationCache)."""

    def __init__(self, documents: DocumentCache) -> None:
        self.documents = documents
        self.errors: tuple[GraphQLError, ...] = ()

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            found = self.documents.outcome_now(context.query)
            if found.document is None:
                # A fresh error each time: a kept one raised again would grow its traceback.
                error = found.errors[0]
                raise GraphQLError(error.message, source=error.source, positions=error.positions)
            context.graphql_document = found.document
            self.errors = found.errors
        yield

    def on_validate(self) -> Iterator[None]:
        # Set here, strawberry's own validation step is skipped.
        self.execution_context.pre_execution_errors = list(self.errors)
        yield
