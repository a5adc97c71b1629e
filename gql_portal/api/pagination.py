"""Opaque keyset cursors and the Relay page arguments."""

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from gql_portal.errors import BadUserInputError
from gql_portal.inputs import text_problem, utc_time

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


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
