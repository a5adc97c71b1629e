"""gql_portal.sql: statements written once with ``?`` run alike on SQLite and PostgreSQL."""

import pytest
from tortoise import connections

from gql_portal.sql import execute, fetch, numbered_placeholders
from tests.database import TestDatabase

pytestmark = pytest.mark.usefixtures("database")


@pytest.mark.parametrize(
    ("written", "numbered"),
    [
        ("SELECT ?, ?", "SELECT $1, $2"),
        ("SELECT 'a?b', ?", "SELECT 'a?b', $1"),
        ("SELECT 'it''s?', ?", "SELECT 'it''s?', $1"),
        ("SELECT '', ?, '?'", "SELECT '', $1, '?'"),
        ('SELECT "odd?name" FROM t WHERE x = ?', 'SELECT "odd?name" FROM t WHERE x = $1'),
        ("SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"),
        ("SELECT /* ? */ ?", "SELECT /* ? */ $1"),
        ("SELECT x = ANY(?::bigint[])", "SELECT x = ANY($1::bigint[])"),
        ("SELECT 1", "SELECT 1"),
    ],
)
def test_only_placeholders_outside_literals_are_numbered(written: str, numbered: str) -> None:
    assert numbered_placeholders(written) == numbered


async def test_a_question_mark_in_a_string_literal_is_text(database: TestDatabase) -> None:
    connection = connections.get("default")
    rows = await fetch(
        connection, "SELECT 'why?' AS asked, CAST(? AS INTEGER) AS value, 'it''s ?' AS quoted", [41]
    )
    assert rows == [{"asked": "why?", "value": 41, "quoted": "it's ?"}]
    await execute(
        connection,
        "UPDATE users SET display_name = 'who?' WHERE id = ? AND email = ?",
        [0, "nobody?@example.com"],
    )
