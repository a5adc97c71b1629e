"""A throwaway database per test session, built by the project's own migrations."""

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlparse

import asyncpg
from tortoise import Tortoise, connections

from gql_portal.db import MODEL_MODULES, close_db, migrate, tortoise_config
from gql_portal.settings import get_settings


@dataclass
class TestDatabase:
    __test__ = False  # a fixture type, not a test class

    url: str

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith(("postgres", "asyncpg"))

    @classmethod
    @contextlib.asynccontextmanager
    async def created(cls, url_template: str) -> AsyncIterator["TestDatabase"]:
        url = url_template.replace("{}", secrets.token_hex(4))
        db = cls(url)
        if db.is_postgres:
            await db._admin(f'CREATE DATABASE "{db.name}"')
        os.environ["GQL_PORTAL_DATABASE_URL"] = url
        get_settings.cache_clear()
        try:
            await migrate(get_settings())
            await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
            yield db
        finally:
            await close_db()
            if db.is_postgres:
                await db._admin(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')

    @property
    def name(self) -> str:
        return urlparse(self.url).path.lstrip("/")

    @contextlib.asynccontextmanager
    async def admin_connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection to the server's `postgres` database, outside this test database."""
        parsed = urlparse(self.url)
        conn = await asyncpg.connect(
            host=parsed.hostname,
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password,
            database="postgres",
        )
        try:
            yield conn
        finally:
            await conn.close()

    async def _admin(self, statement: str) -> None:
        async with self.admin_connection() as conn:
            await conn.execute(statement)

    async def truncate(self) -> None:
        tables = [model._meta.db_table for model in Tortoise.apps.get_models_iterable()]  # type: ignore[union-attr]
        connection = connections.get("default")
        if self.is_postgres:
            quoted = ", ".join(f'"{table}"' for table in tables)
            # A background write of the previous test (a job's last event) may still hold a
            # row-share lock: PostgreSQL picks one side of the deadlock, and this one retries.
            for attempt in range(5):
                try:
                    await connection.execute_script(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
                    break
                except Exception as error:
                    if "deadlock" not in str(error).lower() or attempt == 4:
                        raise
                    await asyncio.sleep(0.2)
        else:
            script = "".join(f'DELETE FROM "{table}";' for table in tables)
            await connection.execute_script(
                "PRAGMA foreign_keys=OFF;"
                + script
                + "DELETE FROM sqlite_sequence;PRAGMA foreign_keys=ON;"
            )


__all__ = ["MODEL_MODULES", "TestDatabase"]
