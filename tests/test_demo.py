"""`gql-portal demo` publishes its password: it must never seed a production database."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet


def _run(tmp_path: Path, *args: str, environment: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GQL_PORTAL_DATA_DIR": str(tmp_path),
        "GQL_PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "GQL_PORTAL_ENVIRONMENT": environment,
        "GQL_PORTAL_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    return subprocess.run(
        [sys.executable, "-m", "gql_portal.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _domains(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "demo.sqlite3") as connection:
        return [row[0] for row in connection.execute("SELECT name FROM domains")]


def test_demo_refuses_to_run_in_production(tmp_path: Path) -> None:
    assert _run(tmp_path, "migrate", environment="production").returncode == 0
    result = _run(tmp_path, "demo", "--users", "5", environment="production")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "gql-portal: demo creates accounts with a published password: "
        "refused in production (GQL_PORTAL_ENVIRONMENT=production)"
    ]
    assert result.stdout == ""
    assert _domains(tmp_path) == []


def test_demo_runs_in_development(tmp_path: Path) -> None:
    assert _run(tmp_path, "migrate", environment="development").returncode == 0
    result = _run(tmp_path, "demo", environment="development")
    assert result.returncode == 0, result.stderr
    assert _domains(tmp_path) == ["demo.example"]
