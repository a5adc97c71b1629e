"""The command line as operators expect it: --version, help on every option, roles in any
case, migrate and rotate-keys saying what they did, unknown settings named."""

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from gql_portal.cli import build_parser
from gql_portal.crypto import key_fingerprint
from tests.http.server_process import free_port

CLI = Path(sys.executable).parent / "gql-portal"
ROOT = Path(__file__).resolve().parents[1]


def _run(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GQL_PORTAL_")}
    env.update(
        GQL_PORTAL_DATA_DIR=str(tmp_path / "data"),
        GQL_PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        GQL_PORTAL_ARGON2_MEMORY_KIB="1024",
        GQL_PORTAL_ARGON2_TIME_COST="1",
        **{f"GQL_PORTAL_{name.upper()}": value for name, value in settings.items()},
    )
    return subprocess.run(
        [str(CLI), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_version() -> None:
    result = subprocess.run([str(CLI), "--version"], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, f"gql-portal {version('gql-portal')}\n")


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {parser.prog: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.update(_commands(sub))
    return found


def test_every_command_and_option_has_help_and_shows_its_default() -> None:
    commands = _commands(build_parser())
    assert "gql-portal audit verify" in commands and len(commands) >= 13
    for prog, parser in commands.items():
        text = parser.format_help()
        assert "``" not in text, prog
        assert parser.description, prog
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert all(choice.help for choice in action._choices_actions), prog
                continue
            assert action.help, f"{prog} {action.dest}: no help text"
            if action.option_strings and action.default not in (None, False, "==SUPPRESS=="):
                shown = f"(default: {action.default})"
                assert shown in " ".join(text.split()), f"{prog} {action.option_strings[0]}"
            if action.option_strings and action.default is None and not action.required:
                assert "default:" in action.help, f"{prog} {action.option_strings[0]}"


def test_help_of_every_command_exits_zero(tmp_path: Path) -> None:
    for prog in _commands(build_parser()):
        result = _run(tmp_path, *prog.split()[1:], "--help")
        assert result.returncode == 0 and "usage: " + prog in result.stdout, result.stderr


def test_migrate_says_what_it_applied(tmp_path: Path) -> None:
    first = _run(tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    applied = [line for line in lines if line.startswith("applied models.")]
    assert applied[0] == "applied models.0001_initial"
    assert lines[-1] == f"{len(applied)} migrations applied: the database is up to date"
    again = _run(tmp_path, "migrate")
    assert again.stdout.splitlines() == ["nothing to apply: the database is up to date"]


def test_roles_are_accepted_in_any_case(tmp_path: Path) -> None:
    assert _run(tmp_path, "migrate").returncode == 0
    assert _run(tmp_path, "create-domain", "acme.example").returncode == 0
    created = _run(
        tmp_path,
        *("create-user", "--domain", "acme.example", "--email", "root@acme.example"),
        *("--role", "security_admin", "--role", "Auditor", "--password", "x" * 16),
    )
    assert created.returncode == 0, created.stderr
    with sqlite3.connect(tmp_path / "cli.sqlite3") as db:
        [(roles,)] = db.execute("SELECT roles FROM users").fetchall()
    db.close()
    assert roles == ",SECURITY_ADMIN,AUDITOR,"
    dry = _run(tmp_path, *("bulk-enable", "--domain", "acme.example"), "--role", "auditor")
    # Past the argument check (the domain has 2FA switched off, which the job then says).
    assert dry.stderr == "gql-portal: Two-Factor Authentication not available\n"
    wrong = _run(tmp_path, "bulk-enable", "--domain", "acme.example", "--role", "king")
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("gql-portal: argument --role: invalid role 'king': one of USER")


@pytest.mark.parametrize("command", [("migrate",), ("worker", "--check"), ("serve", "--help")])
def test_unknown_settings_are_named_at_start_up(tmp_path: Path, command: tuple[str, ...]) -> None:
    result = _run(tmp_path, *command, max_conections="5", colour="blue")
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    if command[-1] == "--help":  # help exits before anything starts
        assert warnings == []
        return
    assert warnings == [
        "gql-portal: warning: unknown setting GQL_PORTAL_COLOUR is ignored",
        "gql-portal: warning: unknown setting GQL_PORTAL_MAX_CONECTIONS is ignored "
        "(did you mean GQL_PORTAL_MAX_CONNECTIONS?)",
    ]


def test_known_settings_raise_no_warning(tmp_path: Path) -> None:
    result = _run(tmp_path, "migrate", max_connections="5", log_level="WARNING")
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr


def _seed_enrolled_user(tmp_path: Path, **keys: str) -> None:
    for command in ("migrate", "demo"):  # carol is enrolled: one encrypted TOTP secret
        result = _run(tmp_path, command, **keys)
        assert result.returncode == 0, result.stderr


def test_rotate_keys_names_the_keys_that_cannot_decrypt(tmp_path: Path) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    _seed_enrolled_user(tmp_path, encryption_keys=old.decode())
    result = _run(tmp_path, "rotate-keys", encryption_keys=new.decode())
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "Traceback" not in line and "InvalidToken" not in line
    assert line.startswith("gql-portal: TotpAuthenticator ")
    assert f"none of the 1 keys of GQL_PORTAL_ENCRYPTION_KEYS (key 1 {key_fingerprint(new)})" in (
        line
    )
    assert "add the key it was encrypted with" in line and "run the command again" in line
    assert old.decode() not in line and new.decode() not in line
    # With the old key listed after the new one, the same command succeeds.
    both = _run(tmp_path, "rotate-keys", encryption_keys=f"{new.decode()},{old.decode()}")
    assert both.returncode == 0, both.stderr
    assert both.stdout.strip().endswith(f"with the first key ({key_fingerprint(new)})")


def test_rotate_keys_points_at_the_development_key(tmp_path: Path) -> None:
    _seed_enrolled_user(tmp_path)  # no keys: the development key file encrypts
    development = (tmp_path / "data" / "encryption.key").read_bytes().strip()
    new = Fernet.generate_key()
    result = _run(tmp_path, "rotate-keys", encryption_keys=new.decode())
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert f"it decrypts with the development key in {tmp_path / 'data'}" in line
    assert key_fingerprint(development) in line and development.decode() not in line


def test_make_run_serves_on_the_given_host_and_port(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("GQL_PORTAL_")}
    env.update(GQL_PORTAL_DATA_DIR=str(tmp_path), GQL_PORTAL_LOG_LEVEL="WARNING")
    log = tmp_path / "make.log"
    with log.open("wb") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}", "HOST=127.0.0.4"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make, gql-portal and uvicorn: one group to stop
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert make.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.4:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert "secadmin@demo.example" in log.read_text()  # migrated and seeded first
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)
