"""What db.tortoise_config promises the two backends."""

import re
from pathlib import Path

from gql_portal.db import keep_session_state, tortoise_config

ROOT = Path(__file__).resolve().parent.parent
# Statements that leave state on a pooled PostgreSQL session, which asyncpg's default reset
# would undo: with keep_session_state the portal must never send them.
SESSION_STATE = re.compile(
    r"""pg_advisory_(?:xact_)?lock|\bLISTEN\b|\bDECLARE\s+\w+\s+(?:\w+\s+)*CURSOR|"""
    r"""["'](?:\s*)SET\s+(?!LOCAL\b)(?:SESSION\b|ROLE\b|search_path|TIME\s+ZONE|\w+\s*(?:=|TO\b))""",
    re.IGNORECASE,
)


def test_postgres_pool_skips_the_reset_query() -> None:
    config = tortoise_config("postgres://postgres@127.0.0.1:5432/anything")
    assert config["connections"]["default"]["credentials"]["reset"] is keep_session_state


def test_sqlite_uses_the_immediate_transaction_backend() -> None:
    config = tortoise_config("sqlite:///tmp/anything.sqlite3")
    assert config["connections"]["default"]["engine"] == "gql_portal.sqlite_backend"


def test_no_code_leaves_state_on_a_pooled_session() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for folder in ("gql_portal", "workers")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for match in SESSION_STATE.finditer(path.read_text())
    ]
    assert offenders == []
    # The pattern does find what it looks for.
    assert SESSION_STATE.search('"SET search_path TO x"')
    assert SESSION_STATE.search("'SELECT pg_advisory_lock(1)'")
    assert not SESSION_STATE.search('"UPDATE users SET code_failures = ?"')
    assert not SESSION_STATE.search('"SET LOCAL lock_timeout = 1"')
