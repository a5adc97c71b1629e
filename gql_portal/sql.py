"""The few statements the ORM cannot express portably, written once for both dialects."""

import itertools
import re
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

M = TypeVar("M", bound=Model)


def is_postgres(connection: BaseDBAsyncClient) -> bool:
    return bool(connection.capabilities.dialect == "postgres")


# What may hold a ``?`` that is not a placeholder: string literals, quoted identifiers and
# comments, matched whole (a doubled quote stays inside), then the placeholders themselves.
_PLACEHOLDER_OR_TEXT = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\?""", re.S)


@lru_cache(maxsize=512)
def numbered_placeholders(sql: str) -> str:
    """``?`` outside literals, identifiers and comments becomes ``$1, $2, ...``."""
    counter = itertools.count(1)

    def number(match: re.Match[str]) -> str:
        text = match.group()
        return f"${next(counter)}" if text == "?" else text

    return _PLACEHOLDER_OR_TEXT.sub(number, sql)


def placeholders(connection: BaseDBAsyncClient, sql: str) -> str:
    """Write SQL with ``?``; PostgreSQL (asyncpg) wants ``$1, $2, ...``."""
    return numbered_placeholders(sql) if is_postgres(connection) else sql


def db_value(connection: BaseDBAsyncClient, value: Any) -> Any:
    """Encode a parameter the way Tortoise stores it (SQLite keeps text and integers)."""
    if is_postgres(connection):
        return value
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    return value


def in_ids(connection: BaseDBAsyncClient, column: str, ids: list[int]) -> tuple[str, list[Any]]:
    """``column IN (...)``: one array parameter on PostgreSQL, so the prepared statement is
    reused whatever the chunk's size; one parameter per id on SQLite."""
    if is_postgres(connection):
        return f"{column} = ANY(?::bigint[])", [ids]
    return f"{column} IN ({','.join('?' * len(ids))})", list(ids)


def json_parameter(connection: BaseDBAsyncClient) -> str:
    return "CAST(? AS JSONB)" if is_postgres(connection) else "?"


async def execute(connection: BaseDBAsyncClient, sql: str, values: list[Any]) -> int:
    rows, _ = await connection.execute_query(
        placeholders(connection, sql), [db_value(connection, value) for value in values]
    )
    return int(rows)


async def fetch(connection: BaseDBAsyncClient, sql: str, values: list[Any]) -> list[dict[str, Any]]:
    """Rows as dicts, also for ``UPDATE ... RETURNING`` (which ``execute_query`` drops)."""
    rows = await connection.execute_query_dict(
        placeholders(connection, sql), [db_value(connection, value) for value in values]
    )
    return list(rows)


def aliased_columns(model: type[Model], alias: str) -> str:
    """A model's columns for a joined SELECT, each named ``alias.column``."""
    return ",".join(f'{alias}."{column}" "{alias}.{column}"' for column in model._meta.db_fields)


@lru_cache(maxsize=8)
def _aliased(model: type[Model], alias: str) -> tuple[tuple[str, str], ...]:
    return tuple((f"{alias}.{column}", column) for column in model._meta.db_fields)


def from_row(model: type[M], row: dict[str, Any], alias: str) -> M:
    """The model object behind ``aliased_columns(model, alias)`` in a fetched row."""
    return model._init_from_db(**{column: row[key] for key, column in _aliased(model, alias)})


def json_records(connection: BaseDBAsyncClient, columns: tuple[tuple[str, str], ...]) -> str:
    """A FROM item ``r`` with one row per object of a JSON array given as ONE parameter:
    ``jsonb_to_recordset`` on PostgreSQL, ``json_each`` on SQLite. A set-based write of a
    whole chunk is then one statement with one parameter, whatever the chunk's size (no
    bound-parameter limit, and PostgreSQL reuses the prepared statement).

    ``columns`` are (name, PostgreSQL type) pairs; the names are the JSON keys.
    """
    if is_postgres(connection):
        typed = ", ".join(f"{name} {kind}" for name, kind in columns)
        return f"jsonb_to_recordset(CAST(? AS JSONB)) AS r({typed})"
    extracted = ", ".join(f"json_extract(value, '$.{name}') AS {name}" for name, _ in columns)
    return f"(SELECT {extracted} FROM json_each(?)) AS r"
