"""The command line as an operator runs it: real processes on a fresh SQLite file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gql_portal.cli import build_parser


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GQL_PORTAL_DATA_DIR": str(tmp_path),
        "GQL_PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "gql_portal.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    assert _run(tmp_path, "migrate").returncode == 0
    return tmp_path


def test_create_domain_and_user_then_refuse_duplicates(migrated: Path) -> None:
    created = _run(migrated, "create-domain", "Acme.Example")
    assert created.returncode == 0, created.stderr
    assert "acme.example" in created.stdout
    user = _run(
        migrated,
        "create-user",
        "--domain",
        "acme.example",
        "--email",
        "root@acme.example",
        "--role",
        "SECURITY_ADMIN",
        "--role",
        "USER",
        "--password",
        "a-long-enough-password",
    )
    assert user.returncode == 0, user.stderr
    again = _run(
        migrated,
        "create-user",
        "--domain",
        "acme.example",
        "--email",
        "ROOT@acme.example",
        "--password",
        "a-long-enough-password",
    )
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0 and "already exists" in again.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("create-domain", "not a domain"),
        (
            "create-user",
            "--domain",
            "missing.example",
            "--email",
            "a@b.example",
            "--password",
            "x" * 20,
        ),
        (
            "create-user",
            "--domain",
            "acme.example",
            "--email",
            "a@b.example",
            "--role",
            "KING",
            "--password",
            "x" * 20,
        ),
        ("create-user", "--domain", "acme.example", "--email", "a@b.example"),
        ("demo", "--users", "-3"),
        ("demo", "--users", "99999999999"),
        ("serve", "--port", "99999"),
        ("serve", "--port", "abc"),
        ("no-such-command",),
        ("create-user", "--email", "a@b.example"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(migrated: Path, args: tuple[str, ...]) -> None:
    _run(migrated, "create-domain", "acme.example")
    result = _run(migrated, *args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gql-portal: "), result.stderr
    assert "Traceback" not in result.stderr


def test_short_passwords_are_refused(migrated: Path) -> None:
    _run(migrated, "create-domain", "acme.example")
    result = _run(
        migrated,
        "create-user",
        "--domain",
        "acme.example",
        "--email",
        "a@acme.example",
        "--password",
        "short",
    )
    assert result.returncode == 1 and "at least 12" in result.stderr


def test_demo_is_idempotent_and_prints_credentials(migrated: Path) -> None:
    first = _run(migrated, "demo", "--users", "50")
    second = _run(migrated, "demo", "--users", "50")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "secadmin@demo.example" in first.stdout and "correct-horse-battery" in first.stdout
    assert "50 added" in first.stdout and "0 added" in second.stdout


def test_export_schema_writes_the_sdl(tmp_path: Path) -> None:
    out = tmp_path / "schema.graphql"
    result = _run(tmp_path, "export-schema", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "type Mutation" in out.read_text()


def test_every_contract_command_exists() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in [
        "serve",
        "worker",
        "migrate",
        "create-domain",
        "create-user",
        "demo",
        "export-schema",
    ]:
        assert name in commands


def test_a_bad_setting_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "GQL_PORTAL_DATA_DIR": str(tmp_path), "GQL_PORTAL_ENVIRONMENT": "Prod"}
    result = subprocess.run(
        [sys.executable, "-m", "gql_portal.cli", "migrate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "gql-portal: invalid setting GQL_PORTAL_ENVIRONMENT: "
        "Input should be 'development' or 'production'"
    ]
