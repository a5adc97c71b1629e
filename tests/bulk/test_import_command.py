"""``gql-portal import-users``: an operator's import with a progress bar, in this process."""

import io
import subprocess
import sys
from pathlib import Path

import pytest

from gql_portal.accounts.models import User
from gql_portal.bulk.command import import_users
from gql_portal.bulk.models import BulkJob
from gql_portal.errors import BadUserInputError, NotFoundError
from tests.bulk.imports import csv_of, many_rows
from tests.database import TestDatabase
from tests.factories import make_domain

pytestmark = pytest.mark.usefixtures("database")


async def test_import_users_for_operators(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    domain = await make_domain()
    path = tmp_path / "users.csv"
    path.write_text(many_rows(domain, 1200) + f"nope,,\nimp-000001@{domain.name},,\n")
    out = io.StringIO()
    run = {"domain_name": domain.name, "path": path, "enable_two_factor": False, "out": out}
    assert await import_users(dry_run=True, **run) == 1  # rows were refused
    printed = capsys.readouterr().out
    assert "1,200 created, 0 updated, 0 unchanged, 2 refused (dry run" in printed
    assert "line 1202: nope: Email is not a valid address" in printed
    assert "line 1203:" in printed and "Duplicate of line 3" in printed
    assert not await User.filter(domain_id=domain.id).exists()
    assert await import_users(dry_run=False, **run) == 1
    assert "SUCCEEDED: 1,200 created" in capsys.readouterr().out
    assert "1,202/1,202" in out.getvalue()
    assert await User.filter(domain_id=domain.id).count() == 1200
    job = await BulkJob.filter(domain_id=domain.id, dry_run=False).get()
    assert job.requested_by_id is None and job.status == "SUCCEEDED"
    path.write_text(csv_of(f"imp-000001@{domain.name},Renamed,"))
    assert await import_users(dry_run=False, **run) == 0
    assert "0 created, 1 updated, 0 unchanged, 0 refused" in capsys.readouterr().out


async def test_import_users_refuses_a_bad_file_in_one_line(tmp_path: Path) -> None:
    domain = await make_domain()
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"email,display_name,roles\nj@x.example,Jos\xe9,USER\n")
    run = {"domain_name": domain.name, "path": path, "dry_run": False, "enable_two_factor": False}
    with pytest.raises(BadUserInputError, match="line 2: not UTF-8 text"):
        await import_users(**run)  # type: ignore[arg-type]
    path.write_text("mail\n")
    with pytest.raises(BadUserInputError, match="header"):
        await import_users(**run)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        await import_users(**{**run, "domain_name": "missing.example"})  # type: ignore[arg-type]
    assert not await BulkJob.filter(domain_id=domain.id).exists()


async def test_the_command_line_exits_non_zero_with_one_line(
    database: TestDatabase, tmp_path: Path
) -> None:
    domain = await make_domain()
    path = tmp_path / "bad.csv"
    path.write_text("email;name\n")
    command = [sys.executable, "-m", "gql_portal.cli", "import-users", "--domain", domain.name]
    env = {"GQL_PORTAL_DATABASE_URL": database.url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([*command, str(path)], env=env, capture_output=True, text=True)
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.strip().splitlines()[-1].startswith("gql-portal: Line 1: the first line")
    path.write_text(csv_of(f"cli@{domain.name},Cli,USER"))
    done = subprocess.run([*command, str(path)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "SUCCEEDED: 1 created" in done.stdout
