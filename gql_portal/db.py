from functools import lru_cache
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as run_migrations

from gql_portal.files import private_dir
from gql_portal.settings import Settings, get_settings

MODEL_MODULES = [
    "gql_portal.accounts.models",
    "gql_portal.two_factor.models",
    "gql_portal.audit.models",
    "gql_portal.bulk.models",
    "gql_portal.scim.models",
    "gql_portal.notifications.models",
]


async def keep_session_state(connection: object) -> None:
    """asyncpg's pool reset, minus its query. A released connection is always rolled back
    (asyncpg does that before this hook), but by default it also runs ``RESET ALL; CLOSE
    ALL; UNLISTEN *; pg_advisory_unlock_all()``: one more round trip for every statement
    outside a transaction and every transaction. The portal sets no session variable,
    opens no cursor, listens to nothing and takes no advisory lock, so there is nothing
    for it to reset (tests/test_db_config.py keeps that true)."""
    return None


def tortoise_config(
    database_url: str, *, statement_timeout_seconds: float | None = None
) -> dict[str, Any]:
    """``statement_timeout_seconds``: the longest any one statement may run (waiting for a
    lock included) before it is cancelled; None lets statements run as long as they need."""
    connection = expand_db_url(database_url)
    credentials = connection["credentials"]
    if connection["engine"] == "tortoise.backends.sqlite":
        # Transactions BEGIN IMMEDIATE (see sqlite_backend.py).
        connection["engine"] = "gql_portal.sqlite_backend"
        # WAL and a busy timeout let the API, the worker and the CLI share one file.
        credentials.setdefault("journal_mode", "WAL")
        credentials.setdefault("busy_timeout", 10_000)
        # WAL + NORMAL: never corrupt, and a crash of the process loses nothing; only a
        # power cut may undo the last commits. FULL would fsync every chunk of a bulk job.
        credentials.setdefault("synchronous", "NORMAL")
        if statement_timeout_seconds is not None:
            credentials["statement_timeout"] = statement_timeout_seconds
            # Waiting for another process's write lock is part of the statement's time.
            credentials["busy_timeout"] = min(
                int(credentials["busy_timeout"]), max(1, round(statement_timeout_seconds * 1000))
            )
    elif connection["engine"] == "tortoise.backends.asyncpg":
        credentials.setdefault("reset", keep_session_state)
        if statement_timeout_seconds is not None:
            # A startup parameter of every pooled connection, not a SET: nothing to reset.
            server_settings = dict(credentials.get("server_settings") or {})
            server_settings["statement_timeout"] = str(
                max(1, round(statement_timeout_seconds * 1000))
            )
            credentials["server_settings"] = server_settings
    return {
        "connections": {"default": connection},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "gql_portal.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def api_tortoise_config(settings: Settings) -> dict[str, Any]:
    """The API process's database: every statement a request sends has a deadline, so a
    lock held elsewhere or a runaway query answers SERVICE_UNAVAILABLE instead of holding
    the request (and its pooled connection) indefinitely. Migrations, the CLI and the bulk
    worker keep no deadline: their statements (DDL, chunks of set-based writes) may
    legitimately run longer, nobody waits on them interactively, and a cancelled chunk
    would only be retried to be cancelled again."""
    return tortoise_config(
        settings.resolved_database_url,
        statement_timeout_seconds=settings.statement_timeout_seconds,
    )


def ensure_data_dir(settings: Settings) -> None:
    """Owner-only (0700): it holds the SQLite database and the development key."""
    if not settings.database_url or settings.database_url.startswith("sqlite"):
        private_dir(settings.data_dir)


async def init_db(settings: Settings) -> None:
    ensure_data_dir(settings)
    await Tortoise.init(
        config=tortoise_config(settings.resolved_database_url), _enable_global_fallback=True
    )


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate(settings: Settings) -> list[str]:
    """The migrations it applied, in order (``models.0002_x``); none when up to date."""
    ensure_data_dir(settings)
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    try:
        await run_migrations(
            config=tortoise_config(settings.resolved_database_url), progress=progress
        )
    finally:
        await Tortoise.close_connections()
    return applied


def db_client() -> BaseDBAsyncClient:
    client: BaseDBAsyncClient = connections.get("default")
    return client


def dialect() -> str:
    return db_client().capabilities.dialect


@lru_cache(maxsize=1)
def cli_config() -> dict[str, Any]:
    """The configured database, for Tortoise's own CLI."""
    return tortoise_config(get_settings().resolved_database_url)


def __getattr__(name: str) -> dict[str, Any]:
    # ``tortoise -c gql_portal.db.TORTOISE_ORM makemigrations`` reads this attribute: built
    # when read, so importing the module reads no settings.
    if name == "TORTOISE_ORM":
        return cli_config()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
