"""Importing the portal reads no settings and builds nothing: the Tortoise config and the
schema are built at first use, and what refers to them by name still finds them."""

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
MODULES = ["gql_portal.db", "gql_portal.api.schema", "gql_portal.app", "gql_portal.cli"]
MODULES += ["workers.settings"]


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "GQL_PORTAL_DATA_DIR": str(tmp_path), **env},
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_importing_reads_no_settings(tmp_path: Path) -> None:
    script = (
        f"import {', '.join(MODULES)}\n"
        "from gql_portal.settings import get_settings\n"
        "from gql_portal.api.schema import default_schema\n"
        "from gql_portal.db import cli_config\n"
        "print(get_settings.cache_info().currsize, default_schema.cache_info().currsize,"
        " cli_config.cache_info().currsize)\n"
    )
    # A setting that cannot be read: an import that read the settings would fail.
    result = _run([sys.executable, "-c", script], tmp_path, GQL_PORTAL_ENVIRONMENT="neither")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "0", "0"]


def test_tortoise_cli_finds_the_configured_database(tmp_path: Path) -> None:
    database = {"GQL_PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    migrated = _run([str(BIN / "gql-portal"), "migrate"], tmp_path, **database)
    assert migrated.returncode == 0, migrated.stderr
    tortoise = [str(BIN / "tortoise"), "-c", "gql_portal.db.TORTOISE_ORM"]
    history = _run([*tortoise, "history"], tmp_path, **database)
    assert history.returncode == 0, history.stderr
    applied = sorted(
        path.stem
        for path in (Path(__file__).parents[1] / "gql_portal" / "migrations").glob("0*.py")
    )
    assert applied and all(f"models {name}" in history.stdout for name in applied), history.stdout
    unknown = _run([sys.executable, "-c", "import gql_portal.db as d; d.NOT_A_SETTING"], tmp_path)
    assert unknown.returncode == 1 and "AttributeError" in unknown.stderr


def test_export_schema_builds_the_schema_on_demand(tmp_path: Path) -> None:
    result = _run([str(BIN / "gql-portal"), "export-schema", "--output", "-"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (Path(__file__).parents[1] / "schema.graphql").read_text()
