"""The few statements the ORM cannot express portably, written once for both dialects."""

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient


def placeholders(connection: BaseDBAsyncClient, sql: str) -> str:
    """Write SQL with ``?``; PostgreSQL (asyncpg) wants ``$1, $2, ...``."""
    if connection.capabilities.dialect != "postgres":
        return sql
    parts = sql.split("?")
    return "".join(f"{part}${index}" for index, part in enumerate(parts[:-1], 1)) + parts[-1]


async def execute(connection: BaseDBAsyncClient, sql: str, values: list[Any]) -> int:
    rows, _ = await connection.execute_query(placeholders(connection, sql), values)
    return rows
