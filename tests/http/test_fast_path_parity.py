"""The fast path does what the schema asks strawberry to do, read off the schema and off
strawberry at test time: every extension of the schema is a step of the fast path (with
its own settings), a schema with any other extension gets no fast path, and documents are
validated with every rule strawberry would validate them with (both paths take their
documents from the DocumentCache, which skips strawberry's own validation)."""

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
import strawberry
import strawberry.schema.schema as strawberry_schema
from graphql import DirectiveLocation, GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from gql_portal.api.cost import QueryCostLimit
from gql_portal.api.documents import DocumentCache, PreparedDocuments
from gql_portal.api.errors import ErrorCodes
from gql_portal.api.operation import FastOperations, fast_operations
from gql_portal.api.schema import Mutation, Query, Subscription, build_schema
from gql_portal.settings import Settings
from tests.http.support import production_settings, settings_with


def _settings(production: bool = False) -> Settings:
    # On whichever way the suite runs: these tests are about the fast path itself.
    return production_settings(fast_path=True) if production else settings_with(fast_path=True)


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
def test_the_fast_path_applies_exactly_the_schemas_extensions(production: bool) -> None:
    settings = _settings(production)
    schema = build_schema(settings)
    fast = fast_operations(schema, settings)
    assert isinstance(fast, FastOperations)
    extensions = schema.get_extensions()
    assert fast.applied == tuple(type(extension) for extension in extensions)
    # Each step with its extension's own settings.
    by_kind: dict[type[SchemaExtension], Any] = {type(ext): ext for ext in extensions}
    assert fast.documents is by_kind[PreparedDocuments].documents is schema.documents
    assert fast.max_cost == by_kind[QueryCostLimit].max_cost == settings.max_query_cost
    errors = next(ext for ext in extensions if isinstance(ext, ErrorCodes))
    assert fast.hide_suggestions is errors.hide_suggestions is production
    assert fast.metrics


class Stamp(SchemaExtension):
    """An extension the fast path knows nothing about."""

    def on_operation(self) -> Any:
        yield
        result = self.execution_context.result
        if result is not None:
            result.extensions = {"stamp": True}


class LoudErrorCodes(ErrorCodes):
    """A known extension's subclass may do anything: it is foreign too."""


class Tracing(SchemaExtension):
    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, **kwargs: Any) -> Any:
        return _next(root, info, **kwargs)


@strawberry.directive(locations=[DirectiveLocation.FIELD])
def shout(value: str) -> str:
    return value.upper()


def _warnings(log_lines: io.StringIO) -> list[str]:
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    return [
        line["message"]
        for line in lines
        if line["level"] == "WARNING" and line["logger"] == "gql_portal.fast_path"
    ]


@pytest.mark.parametrize(
    "extra", [Stamp, LoudErrorCodes, Tracing, MaskErrors], ids=lambda kind: kind.__name__
)
def test_a_schema_with_an_extension_it_does_not_apply_gets_no_fast_path(
    extra: type[SchemaExtension], log_lines: io.StringIO
) -> None:
    settings = _settings()
    schema = build_schema(settings)
    schema.extensions = (*schema.extensions, extra)
    assert fast_operations(schema, settings) is None
    assert _warnings(log_lines) == [
        f"fast path off: the schema's extension {extra.__qualname__} is not one it applies;"
        " strawberry's view answers every request"
    ]


def test_a_schema_with_directives_gets_no_fast_path(log_lines: io.StringIO) -> None:
    # strawberry runs a schema's directives through an extension of its own.
    settings = _settings()
    schema = build_schema(settings, directives=[shout])
    assert fast_operations(schema, settings) is None
    assert len(_warnings(log_lines)) == 1 and "DirectivesExtension" in _warnings(log_lines)[0]


async def test_documents_are_validated_with_every_rule_strawberry_applies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    portal = build_schema(_settings())
    # strawberry validating by itself: the portal's types and extensions, without the one
    # that takes validation over.
    own = [
        factory
        for factory in portal.extensions
        if not isinstance(factory() if callable(factory) else factory, PreparedDocuments)
    ]
    plain = strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=own
    )
    seen: list[tuple[Any, ...]] = []
    validate = strawberry_schema.validate

    def recorded(schema: Any, document: Any, rules: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(tuple(rules))
        return validate(schema, document, rules, *args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", recorded)
    result = await plain.execute("{ __typename }")
    assert result.errors is None and len(seen) == 1
    strawberrys = set(seen[0])
    documents = portal.documents
    assert set(documents.rules) - set(documents.limit_rules) == strawberrys
    # The two strawberry adds to graphql-core's (missing before issue 12).
    names = {rule.__name__ for rule in strawberrys}
    assert {"MaybeNullValidationRule", "OneOfInputValidationRule"} <= names


@strawberry.input(one_of=True)
class Pick:
    a: str | None = strawberry.UNSET
    b: str | None = strawberry.UNSET


@strawberry.type
class RulesQuery:
    @strawberry.field
    def echo(self, text: strawberry.Maybe[str] = None) -> str:
        return "none" if text is None else str(text.value)

    @strawberry.field
    def pick(self, choice: Pick) -> str:
        return "picked"


@pytest.mark.parametrize(
    "query",
    [
        "{ echo(text: null) }",
        '{ echo(text: "x") }',
        "{ echo }",
        '{ pick(choice: {a: "x", b: "y"}) }',
        '{ pick(choice: {a: "x"}) }',
    ],
)
async def test_strawberrys_rules_answer_alike_through_the_document_cache(query: str) -> None:
    plain = strawberry.Schema(query=RulesQuery)
    ours = strawberry.Schema(query=RulesQuery, extensions=[lambda: PreparedDocuments(cache)])
    cache = DocumentCache(ours._schema, [], max_tokens=2000)
    expected, result = await plain.execute(query), await ours.execute(query)

    def shown(errors: list[GraphQLError] | None) -> list[Any]:
        return [error.formatted for error in errors or []]

    assert (result.data, shown(result.errors)) == (expected.data, shown(expected.errors))
    # A refused document is refused by validation, before anything runs: the fast path
    # leaves it to strawberry's view.
    refused = bool(expected.errors)
    assert (await cache.prepare(query, None) is None) is refused
