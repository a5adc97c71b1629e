"""Keyset pages (no OFFSET): opaque cursors, the Relay page size and one pager for every list."""

import base64
import binascii
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from tortoise.expressions import Q
from tortoise.models import Model

from gql_portal.errors import BadUserInputError
from gql_portal.inputs import int_id, text_problem, utc_time

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

T = TypeVar("T")
M = TypeVar("M", bound=Model)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInputError(f"first must be between 1 and {MAX_PAGE_SIZE}", field="first")
    return first


def malformed_cursor() -> BadUserInputError:
    return BadUserInputError("Malformed cursor", field="after")


def encode_cursor(kind: str, *values: Any) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str, arity: int) -> list[Any] | None:
    """The values a cursor of ``kind`` holds. Cursors come back from clients: a forged one
    is input like any other (its strings obey the text rule, its times the time rule)."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise malformed_cursor() from None
    if not isinstance(decoded, list) or len(decoded) != arity + 1 or decoded[0] != kind:
        raise malformed_cursor()
    values = decoded[1:]
    if any(isinstance(value, str) and text_problem(value) for value in values):
        raise malformed_cursor()
    return values


def cursor_time(raw: Any) -> datetime:
    """A time a cursor holds, as written by ``encode_cursor``: ISO 8601 with its offset."""
    if not isinstance(raw, str):
        raise malformed_cursor()
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise malformed_cursor() from None
    try:
        return utc_time(parsed, "after")
    except BadUserInputError:
        raise malformed_cursor() from None


def cursor_id(maximum: int) -> Callable[[Any], int]:
    """An integer key a cursor holds (a JSON number, never a string of digits)."""

    def parse(raw: Any) -> int:
        value = int_id(raw, maximum=maximum) if type(raw) is int else None
        if value is None:
            raise malformed_cursor()
        return value

    return parse


def cursor_uuid(raw: Any) -> UUID:
    try:
        return UUID(str(raw))
    except ValueError:
        raise malformed_cursor() from None


def cursor_text(max_length: int) -> Callable[[Any], str]:
    """A text key a cursor holds; longer than the column allows, no row can follow it."""

    def parse(raw: Any) -> str:
        if not isinstance(raw, str) or len(raw) > max_length:
            raise malformed_cursor()
        return raw

    return parse


def _cursor_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


@dataclass(frozen=True, slots=True)
class Key:
    """One column of a keyset order and how a cursor's value for it is checked."""

    field: str
    parse: Callable[[Any], Any]
    descending: bool = False


def _beyond(key: Key, value: Any) -> Q:
    return Q(**{f"{key.field}__{'lt' if key.descending else 'gt'}": value})


class Keyset(Generic[M]):
    """A model's list in one total order (the last key is unique), paged by position.

    Every page is one statement: the keyset WHERE, the order, and ``LIMIT size + 1`` (the
    extra row answers ``hasNextPage`` without a COUNT).
    """

    def __init__(self, model: type[M], kind: str, *keys: Key) -> None:
        self.model = model
        self.kind = kind
        self.keys = keys
        self.order = tuple(("-" if key.descending else "") + key.field for key in keys)

    def cursor(self, item: M) -> str:
        return encode_cursor(
            self.kind, *(_cursor_value(getattr(item, key.field)) for key in self.keys)
        )

    def after(self, values: Sequence[Any]) -> Q:
        """The rows strictly after ``values`` in this order. The redundant bound on the
        first key (``<=`` or ``>=``) gives PostgreSQL an index range; the OR alone would
        make it scan from the first row of the order."""
        first = self.keys[0]
        beyond = _beyond(first, values[0])
        for index, key in enumerate(self.keys[1:], 1):
            equal = {earlier.field: values[i] for i, earlier in enumerate(self.keys[:index])}
            beyond |= Q(**equal) & _beyond(key, values[index])
        if len(self.keys) == 1:
            return beyond
        inclusive = "lte" if first.descending else "gte"
        return Q(**{f"{first.field}__{inclusive}": values[0]}) & beyond

    def position(self, after: str | None) -> Q | None:
        raw = decode_cursor(after, self.kind, len(self.keys))
        if raw is None:
            return None
        return self.after([key.parse(value) for key, value in zip(self.keys, raw, strict=True)])

    async def page(self, condition: Q, *, first: int | None, after: str | None) -> Page[M]:
        size = page_size(first)
        position = self.position(after)
        if position is not None:
            condition &= position
        rows = await self.model.filter(condition).order_by(*self.order).limit(size + 1)
        items = rows[:size]
        return Page(
            items=items,
            cursors=[self.cursor(item) for item in items],
            has_next_page=len(rows) > size,
        )

    async def rows(self, condition: Q, *, batch_size: int) -> AsyncIterator[dict[str, Any]]:
        """Every matching row as a dict, in batches of keyset pages: memory stays a batch."""
        position: Q | None = None
        while True:
            batch_condition = condition & position if position is not None else condition
            rows = (
                await self.model.filter(batch_condition)
                .order_by(*self.order)
                .limit(batch_size)
                .values()
            )
            for row in rows:
                yield row
            if len(rows) < batch_size:
                return
            position = self.after([rows[-1][key.field] for key in self.keys])
