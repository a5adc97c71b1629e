"""Links in mail point at the served address in development (``make run PORT=8108``)."""

from collections.abc import Iterator

import pytest

from gql_portal.http.server import default_public_url
from gql_portal.settings import get_settings


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    # setenv first: monkeypatch's undo then removes what default_public_url sets.
    monkeypatch.setenv("GQL_PORTAL_PUBLIC_URL", "placeholder")
    monkeypatch.delenv("GQL_PORTAL_PUBLIC_URL")
    monkeypatch.setenv("GQL_PORTAL_ENVIRONMENT", "development")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:8108"),
        ("localhost", "http://localhost:8108"),
        ("0.0.0.0", "http://127.0.0.1:8108"),
        ("::1", "http://[::1]:8108"),
    ],
)
def test_development_links_follow_the_served_address(
    unset: pytest.MonkeyPatch, host: str, expected: str
) -> None:
    default_public_url(host, 8108)
    assert get_settings().public_url == expected


def test_a_configured_public_url_is_kept(unset: pytest.MonkeyPatch) -> None:
    unset.setenv("GQL_PORTAL_PUBLIC_URL", "https://portal.example")
    default_public_url("127.0.0.1", 8108)
    assert get_settings().public_url == "https://portal.example"


def test_production_uses_the_setting_as_given(unset: pytest.MonkeyPatch) -> None:
    unset.setenv("GQL_PORTAL_ENVIRONMENT", "production")
    default_public_url("127.0.0.1", 8108)
    assert get_settings().public_url == "http://127.0.0.1:8000"
