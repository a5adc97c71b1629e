"""Fixtures shared by the HTTP tests."""

import io
import logging
from collections.abc import Iterator

import pytest

from gql_portal.logs import json_handler


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The JSON log lines written while the test runs."""
    stream = io.StringIO()
    handler = json_handler(stream)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous)
