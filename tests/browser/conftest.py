"""Fixtures of the browser tests: the portal as a real server, Chromium on it."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.driver import Browser, chromium_paths
from tests.browser.portal_server import PortalServer


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalServer]:
    """One server per test module, seeded with the demo domain (`gql-portal demo`)."""
    chromium_paths()  # skip (or fail in CI) before paying for a server
    server = PortalServer(tmp_path_factory.mktemp("portal"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def browser(portal: PortalServer, tmp_path: Path) -> Iterator[Browser]:
    """A fresh profile per test. At the end: no request left the portal's origin and no
    console error was logged (a test that expects them uses `noisy_browser`)."""
    (tmp_path / "downloads").mkdir()
    opened = Browser(portal.origin, tmp_path / "profile", tmp_path / "downloads")
    try:
        yield opened
        assert opened.foreign_requests() == []
        assert opened.console_errors() == []
    finally:
        opened.quit()


@pytest.fixture
def noisy_browser(portal: PortalServer, tmp_path: Path) -> Iterator[Browser]:
    (tmp_path / "downloads").mkdir()
    opened = Browser(portal.origin, tmp_path / "profile", tmp_path / "downloads")
    try:
        yield opened
    finally:
        opened.quit()
