"""A misspelt ``GQL_PORTAL_*`` variable is ignored by the settings: name it at start-up."""

from collections.abc import Mapping
from difflib import get_close_matches

from gql_portal.settings import Settings

PREFIX = "GQL_PORTAL_"
# Read by the test suite (tests/conftest.py), not by the service.
TEST_VARIABLES = frozenset({"GQL_PORTAL_TEST_DATABASE_URL", "GQL_PORTAL_TEST_REDIS_URL"})


def known_variables() -> set[str]:
    return {PREFIX + name.upper() for name in Settings.model_fields}


def unknown_setting_warnings(environ: Mapping[str, str]) -> list[str]:
    """One line per unknown variable, with the closest real setting when there is one."""
    known = known_variables()
    warnings = []
    for name in sorted(environ):
        upper = name.upper()  # the settings read their variables in any case
        if not upper.startswith(PREFIX) or upper in known or upper in TEST_VARIABLES:
            continue
        close = get_close_matches(upper, known, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"unknown setting {name} is ignored{hint}")
    return warnings
