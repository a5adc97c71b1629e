"""The fast path runs only where it may: GQL_PORTAL_FAST_PATH on, and strawberry-graphql
and graphql-core inside the range pyproject.toml declares (api/fast_path.py). Refused, the
app logs one WARNING line at start-up and strawberry's view answers, correctly."""

import io
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from gql_portal.api import fast_path
from gql_portal.api.executor import PortalExecutor, ShortPathExecutor
from gql_portal.api.fast_path import FENCED, version_problem
from gql_portal.api.schema import PortalSchema
from gql_portal.app import create_app
from gql_portal.settings import Settings
from tests.factories import PASSWORD, make_domain, make_user
from tests.http.support import client_for, graphql_view, settings_with

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_tested_range_is_pyprojects() -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    declared = {req.name: req.specifier for req in map(Requirement, dependencies)}
    ranges = fast_path.tested_ranges()
    assert set(ranges) == set(FENCED)
    assert all(ranges[name] == declared[name] for name in FENCED)


def test_the_installed_releases_take_the_fast_path() -> None:
    assert version_problem() is None
    assert version_problem({"strawberry-graphql": "0.341.9", "graphql-core": "3.3.7"}) is None


@pytest.mark.parametrize(
    "installed",
    [
        {"strawberry-graphql": "0.342.0", "graphql-core": "3.3.2"},
        {"strawberry-graphql": "0.341.2", "graphql-core": "3.4.0"},
        {"strawberry-graphql": "0.341.1", "graphql-core": "3.3.2"},
        {"strawberry-graphql": "1.0.0", "graphql-core": "4.0.0"},
        {"strawberry-graphql": "0.341.3rc1", "graphql-core": "3.3.2"},
        {"strawberry-graphql": "not-a-version", "graphql-core": "3.3.2"},
        {"strawberry-graphql": None, "graphql-core": "3.3.2"},
    ],
)
def test_other_releases_are_refused_by_name_and_range(installed: dict[str, str | None]) -> None:
    problem = version_problem(installed)
    assert problem is not None
    for name, version in installed.items():
        assert f"{name} {version or '(not installed)'}" in problem
    for name, specifier in fast_path.tested_ranges().items():
        assert f"{name}{specifier}" in problem


def test_without_a_range_nothing_is_trusted() -> None:
    # A checkout run without its project installed: no metadata, no range, no fast path.
    problem = version_problem(tested={})
    assert problem is not None and "(no range found)" in problem


def _fence_lines(log_lines: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    return [line for line in lines if line["logger"] == "gql_portal.fast_path"]


async def _answers_through_strawberry(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(settings, manage_database=False)
    view = graphql_view(app)
    assert view.fast is None
    assert view.schema.execution_context_class is PortalExecutor
    calls: list[str | None] = []
    original = PortalSchema.execute

    async def counted(self: PortalSchema, query: str | None, *args: Any, **kwargs: Any) -> Any:
        calls.append(query)
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(PortalSchema, "execute", counted)
    domain = await make_domain()
    user = await make_user(domain, display_name="Ada")
    async with client_for(app) as client:
        token = (await client.login(user.email, PASSWORD))["token"]
        me = (await client.execute("{ me { email displayName } }", token=token)).ok()
    assert me == {"me": {"email": user.email, "displayName": "Ada"}}
    assert len(calls) == 2  # the login and me, both strawberry's


async def test_releases_outside_the_range_fall_back_to_strawberry_and_still_answer(
    database: object, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def newer() -> dict[str, str | None]:
        return {"strawberry-graphql": "0.342.0", "graphql-core": "3.3.2"}

    monkeypatch.setattr(fast_path, "installed_versions", newer)
    await _answers_through_strawberry(settings_with(fast_path=True), monkeypatch)
    lines = _fence_lines(log_lines)
    assert [line["level"] for line in lines] == ["WARNING"]
    assert lines[0]["message"] == version_problem(newer())
    assert "strawberry-graphql 0.342.0" in lines[0]["message"]


async def test_the_setting_turns_the_fast_path_off(
    database: object, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _answers_through_strawberry(settings_with(fast_path=False), monkeypatch)
    assert _fence_lines(log_lines) == []  # asked for: nothing to warn about


def test_the_fast_path_is_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GQL_PORTAL_FAST_PATH", raising=False)
    settings = Settings()
    assert settings.fast_path
    app = create_app(settings, manage_database=False)
    assert graphql_view(app).fast is not None
    assert graphql_view(app).schema.execution_context_class is ShortPathExecutor
    for off in ("off", "0", "false"):
        monkeypatch.setenv("GQL_PORTAL_FAST_PATH", off)
        assert not Settings().fast_path
