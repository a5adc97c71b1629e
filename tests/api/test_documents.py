"""api/documents.py: every text parsed and validated once, within bounds, long ones off the loop."""

import asyncio
import threading
import time
from typing import Any

import pytest
from graphql import GraphQLSchema, Source
from graphql.validation import ASTValidationRule, ValidationContext

from gql_portal.api.documents import (
    INLINE_TEXT,
    LONGEST_CACHED,
    RECENT_LONG_TEXTS,
    DocumentCache,
    IndexedSource,
)
from gql_portal.api.schema import build_schema
from gql_portal.api.validation import validation_rules
from gql_portal.settings import get_settings


@pytest.fixture(scope="module")
def graphql_schema() -> GraphQLSchema:
    return build_schema()._schema


def cache(graphql_schema: GraphQLSchema, **options: Any) -> DocumentCache:
    options.setdefault("max_tokens", 2000)
    return DocumentCache(graphql_schema, validation_rules(get_settings()), **options)


def padded(query: str, length: int) -> str:
    """The same document made ``length`` characters long with a trailing comment."""
    return query + "\n#" + "x" * (length - len(query) - 2)


async def test_a_text_is_examined_once(graphql_schema: GraphQLSchema) -> None:
    documents = cache(graphql_schema)
    first = await documents.outcome("{ me { id } }")
    assert first.document is not None and first.errors == ()
    assert await documents.outcome("{ me { id } }") is first
    assert documents.outcome_now("{ me { id } }") is first
    refused = await documents.outcome("{ nope }")
    assert refused.document is not None and refused.errors
    assert await documents.outcome("{ nope }") is refused
    broken = await documents.outcome("{")
    assert broken.document is None and len(broken.errors) == 1
    assert await documents.outcome("{") is broken
    prepared = await documents.prepare("{ me { id } }", None)
    assert prepared is not None and prepared.document is first.document
    assert await documents.prepare("{ me { id } }", None) is prepared
    # Refused and subscription documents are strawberry's view's to answer.
    assert await documents.prepare("{ nope }", None) is None
    assert await documents.prepare('subscription { bulkJob(id: "1") { id } }', None) is None


async def test_the_cache_keeps_at_most_maxsize_texts(graphql_schema: GraphQLSchema) -> None:
    documents = cache(graphql_schema, maxsize=3)
    texts = [f"{{ me {{ id{' email' * n} }} }}" for n in range(1, 4)]
    texts += [f"{{ me {{ email{' id' * n} }} }}" for n in range(1, 4)]
    kept = {text: await documents.outcome(text) for text in texts}
    # The newest three are kept (looked up oldest first: a hit moves a text to the end)...
    for text in texts[-3:]:
        assert await documents.outcome(text) is kept[text]
    # ...and the one before them was evicted: examined again, a new outcome.
    assert await documents.outcome(texts[-4]) is not kept[texts[-4]]
    # Now [-2, -1, -4]: the least recently used goes first, so looking up -2 saves it and
    # the next new text evicts -1.
    assert await documents.outcome(texts[-2]) is kept[texts[-2]]
    await documents.outcome("{ me { email } }")
    assert await documents.outcome(texts[-2]) is kept[texts[-2]]
    assert await documents.outcome(texts[-1]) is not kept[texts[-1]]


async def test_prepared_operations_are_bounded_too(graphql_schema: GraphQLSchema) -> None:
    documents = cache(graphql_schema, maxsize=2)
    texts = ["{ me { id } }", "{ me { email } }", "{ me { displayName } }"]
    prepared = [await documents.prepare(text, None) for text in texts]
    assert await documents.prepare(texts[2], None) is prepared[2]
    assert await documents.prepare(texts[0], None) is not prepared[0]


async def test_long_texts_are_kept_among_a_few_and_never_evict_short_ones(
    graphql_schema: GraphQLSchema,
) -> None:
    documents = cache(graphql_schema, maxsize=3)
    short = await documents.outcome("{ me { id } }")
    longs = [padded(f"{{ me {{ id{' email' * n} }} }}", LONGEST_CACHED + 1) for n in range(12)]
    kept = {text: await documents.outcome(text) for text in longs}
    assert await documents.outcome("{ me { id } }") is short
    for text in longs[-RECENT_LONG_TEXTS:]:
        assert await documents.outcome(text) is kept[text]
    evicted = longs[-RECENT_LONG_TEXTS - 1]
    assert await documents.outcome(evicted) is not kept[evicted]
    # Long texts are not kept as prepared operations either.
    assert (await documents.prepare(longs[0], None)) is not (
        await documents.prepare(longs[0], None)
    )


async def test_the_token_limit_stops_the_parser(graphql_schema: GraphQLSchema) -> None:
    documents = cache(graphql_schema, max_tokens=20)
    within = "{ me { id email displayName } }"  # 9 tokens
    assert (await documents.outcome(within)).errors == ()
    beyond = "{ me { " + " ".join(["id"] * 30) + " } }"
    outcome = await documents.outcome(beyond)
    assert outcome.document is None
    assert [error.message for error in outcome.errors] == [
        "Syntax Error: Document contains more than 20 tokens. Parsing aborted."
    ]
    assert await documents.prepare(beyond, None) is None
    # Comments are no tokens: a long comment is not refused for its length.
    assert (await documents.outcome(padded(within, 10_000))).errors == ()


class SlowRule(ASTValidationRule):
    """Records where validation runs, and takes its time doing it."""

    threads: list[str] = []  # noqa: RUF012 - one test's record, reset by it

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        SlowRule.threads.append(threading.current_thread().name)
        time.sleep(0.3)


async def test_long_texts_are_examined_off_the_event_loop(graphql_schema: GraphQLSchema) -> None:
    SlowRule.threads = []
    documents = DocumentCache(graphql_schema, [SlowRule], max_tokens=2000)
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    try:
        await asyncio.sleep(0)
        long_text = padded("{ me { id } }", INLINE_TEXT + 1)
        assert (await documents.outcome(long_text)).errors == ()
        while_long = ticks
        await documents.outcome("{ me { email } }")
        while_short = ticks - while_long
    finally:
        ticker.cancel()
    assert SlowRule.threads[0].startswith("gql-documents")
    assert SlowRule.threads[1] == threading.current_thread().name
    # The loop kept running while the long text was examined, and stood still for the short.
    assert while_long >= 10
    assert while_short <= 1


@pytest.mark.parametrize(
    "body", ["a\nbc\r\nd\re", "\n\n\n", "no newline", "\r\n\r\n x", "x" * 50 + "\n" + "y" * 50]
)
def test_error_locations_are_graphql_cores(body: str) -> None:
    indexed, plain = IndexedSource(body), Source(body)
    for position in range(len(body) + 1):
        assert indexed.get_location(position) == plain.get_location(position), position
