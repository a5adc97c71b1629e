"""The audit log as CSV or NDJSON, streamed in keyset batches (served by api/export.py)."""

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from gql_portal.audit.filters import AuditQuery
from gql_portal.audit.models import EVENT_COLUMNS
from gql_portal.audit.reader import stream_events

COLUMNS = ("id", *EVENT_COLUMNS)
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
BATCH_SIZE = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape_control(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def csv_cell(value: Any) -> str:
    """Spreadsheets run cells that start with = + - @ (tab, CR too): make them text."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True)
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        text = "'" + text
    return _CONTROL.sub(_escape_control, text)


def csv_lines(rows: Iterable[dict[str, Any]], *, header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(COLUMNS)
    writer.writerows([csv_cell(row[column]) for column in COLUMNS] for row in rows)
    return buffer.getvalue()


def ndjson_lines(rows: Iterable[dict[str, Any]]) -> str:
    # ensure_ascii escapes every control character (and U+2028/2029) as \uXXXX.
    return "".join(
        json.dumps({column: _json_value(row[column]) for column in COLUMNS}) + "\n" for row in rows
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if value is not None and not isinstance(value, str | int | float | bool | dict | list):
        return str(value)
    return value


async def export_body(
    *, domain_id: int, query: AuditQuery, format: str, batch_size: int = BATCH_SIZE
) -> AsyncIterator[bytes]:
    """One chunk per database batch, so the response never holds more than a batch."""
    batch: list[dict[str, Any]] = []
    first = True
    if format == "csv":
        yield csv_lines([], header=True).encode()
    async for row in stream_events(domain_id=domain_id, query=query, batch_size=batch_size):
        batch.append(row)
        if len(batch) == batch_size:
            yield _render(batch, format)
            batch.clear()
            first = False
    if batch or first:
        yield _render(batch, format)


def _render(rows: list[dict[str, Any]], format: str) -> bytes:
    text = csv_lines(rows, header=False) if format == "csv" else ndjson_lines(rows)
    return text.encode()
