"""The data folder is 0700 and the SQLite database (with its WAL and shared memory) and the
development key are 0600, whatever the umask; wider modes left by an older run are
tightened at start, with a log line."""

import contextlib
import logging
import os
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gql_portal.crypto import DEV_KEY_FILE, load_keys
from gql_portal.db import ensure_data_dir, tortoise_config
from gql_portal.sqlite_backend import ImmediateSqliteClient
from tests.http.support import settings_with


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The common default: without care, files come out 0644 and folders 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@contextlib.asynccontextmanager
async def open_database(path: Path) -> AsyncIterator[ImmediateSqliteClient]:
    """The portal's own SQLite client, configured as db.tortoise_config configures it."""
    credentials = tortoise_config(f"sqlite://{path}")["connections"]["default"]["credentials"]
    client = ImmediateSqliteClient(connection_name="modes", **credentials)
    await client.create_connection(with_db=True)
    try:
        await client.execute_script("CREATE TABLE IF NOT EXISTS t (x); INSERT INTO t VALUES (1);")
        yield client
    finally:
        await client.close()


async def test_new_files_are_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = settings_with(data_dir=data, database_url=None, encryption_keys=None)
    ensure_data_dir(settings)
    load_keys(settings)
    database = data / "portal.sqlite3"
    async with open_database(database):
        files = {path.name: mode(path) for path in data.iterdir()}
    assert mode(data) == 0o700
    assert files == {
        DEV_KEY_FILE: 0o600,
        "portal.sqlite3": 0o600,
        "portal.sqlite3-wal": 0o600,
        "portal.sqlite3-shm": 0o600,
    }


async def test_wider_modes_are_tightened_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    settings = settings_with(data_dir=data, database_url=None, encryption_keys=None)
    ensure_data_dir(settings)
    load_keys(settings)
    database = data / "portal.sqlite3"
    async with open_database(database):
        pass
    # An older release, a restore from backup or a copy: readable by everyone.
    for name in (DEV_KEY_FILE, "portal.sqlite3", "portal.sqlite3-wal", "portal.sqlite3-shm"):
        (data / name).touch()
        os.chmod(data / name, 0o644)
    os.chmod(data, 0o755)
    caplog.set_level(logging.WARNING, logger="gql_portal.files")

    ensure_data_dir(settings)
    load_keys(settings)
    async with open_database(database):
        assert mode(database) == 0o600
        assert mode(data / "portal.sqlite3-wal") == 0o600
        assert mode(data / "portal.sqlite3-shm") == 0o600
    assert mode(data) == 0o700 and mode(data / DEV_KEY_FILE) == 0o600
    tightened = sorted(r.getMessage() for r in caplog.records if r.name == "gql_portal.files")
    assert tightened == sorted(
        [
            f"tightened {data} from mode 755 to 700",
            f"tightened {data / DEV_KEY_FILE} from mode 644 to 600",
            f"tightened {database} from mode 644 to 600",
            f"tightened {database}-wal from mode 644 to 600",
            f"tightened {database}-shm from mode 644 to 600",
        ]
    )


def test_a_shared_sticky_folder_is_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    caplog.set_level(logging.WARNING, logger="gql_portal.files")
    ensure_data_dir(settings_with(data_dir=shared, database_url=None))
    assert mode(shared) == 0o1777
    assert any("is shared" in record.getMessage() for record in caplog.records)
