"""SECURITY.md says what the code does: every limit it names is a setting with the default
it states, every limit the settings hold is in it, and the README points to how to report
a vulnerability."""

import re
from pathlib import Path

import pytest

from gql_portal.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SECURITY = (ROOT / "SECURITY.md").read_text()
README = (ROOT / "README.md").read_text()
# "`MAX_TOKENS` (2000)", "`MAX_BODY_BYTES` (100 000)", "`PASSWORD_HASH_THREADS` (CPUs - 1)"
NAMED = re.compile(r"`(?:GQL_PORTAL_)?([A-Z][A-Z0-9_]+)` \(([^)`]+)\)")
LIMITS = [
    name
    for name in Settings.model_fields
    if name.startswith(("max_", "login_ip_", "password_hash_")) or name.endswith("_timeout_seconds")
]


def _stated() -> dict[str, str]:
    stated: dict[str, str] = {}
    for name, default in NAMED.findall(SECURITY):
        assert stated.setdefault(name.lower(), default) == default, f"{name}: two defaults"
    return stated


def test_every_named_setting_exists_with_the_stated_default() -> None:
    stated = _stated()
    assert stated, "no setting found: has the notation changed?"
    for name, default in stated.items():
        assert name in Settings.model_fields, f"SECURITY.md names {name.upper()}: no such setting"
        field = Settings.model_fields[name]
        if field.default_factory is not None:
            continue  # computed at start (CPUs - 1)
        assert float(default.replace(" ", "")) == field.default, (name, default, field.default)


@pytest.mark.parametrize("name", LIMITS)
def test_every_limit_is_documented(name: str) -> None:
    assert name in _stated(), f"{name.upper()} is a limit SECURITY.md does not describe"


def test_the_readme_says_where_to_report_a_vulnerability() -> None:
    assert "\n## Reporting a vulnerability\n" in SECURITY
    assert "(SECURITY.md#reporting-a-vulnerability)" in README
