"""GraphQL over HTTP: application/json (legacy) and application/graphql-response+json."""

from collections.abc import Mapping
from typing import Any

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def _quality(accept: str, media_type: str) -> float:
    best = 0.0
    for item in accept.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        if name.lower() != media_type:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best = max(best, quality)
    return best


def wants_graphql_response(accept: str | None) -> bool:
    """The new media type when the client asks for it at least as much as for JSON."""
    if not accept:
        return False
    preferred = _quality(accept, GRAPHQL_RESPONSE_JSON)
    return preferred > 0 and preferred >= _quality(accept, JSON)


def is_request_error(response: Mapping[str, Any]) -> bool:
    """Parse, validation and variable errors: nothing executed, so no error has a path."""
    errors = response.get("errors") or []
    return (
        response.get("data") is None
        and bool(errors)
        and all(not error.get("path") for error in errors)
    )
