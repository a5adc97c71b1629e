"""Origins: the server's own (for the cookie session's checks) and the CORS allow-list."""

from collections.abc import Mapping
from functools import lru_cache

from strawberry.http.websocket_origin import normalize_allowed_origins
from strawberry.http.websocket_origin import normalize_origin as _normalize_origin

from gql_portal.api.client_ip import is_trusted_peer
from gql_portal.settings import Settings

_HTTP_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


@lru_cache(maxsize=256)
def normalize_origin(origin: str) -> str | None:
    """strawberry's normalisation (urlsplit), kept for the few origins a server sees; the
    cache is bounded, so made-up Origin values only evict each other."""
    return _normalize_origin(origin)


@lru_cache(maxsize=8)
def exact_origins(listed: str, setting: str = "GQL_PORTAL_CORS_ORIGINS") -> frozenset[str]:
    """``GQL_PORTAL_CORS_ORIGINS`` as normalised origins; a wildcard or a URL with a path
    is a configuration error (raised at start), never a wider allow-list."""
    origins = [item.strip() for item in listed.split(",") if item.strip()]
    if "*" in origins:
        raise ValueError(f"{setting} lists exact origins; '*' is not allowed")
    try:
        return normalize_allowed_origins(origins)
    except ValueError:
        raise ValueError(
            f"{setting}: expected origins like https://a.example (no path), got {listed!r}"
        ) from None


def check_public_origin(settings: Settings) -> None:
    if settings.public_origin:
        if len(exact_origins(settings.public_origin, "GQL_PORTAL_PUBLIC_ORIGIN")) != 1:
            raise ValueError("GQL_PORTAL_PUBLIC_ORIGIN is one origin, e.g. https://a.example")


def own_origin(
    scope_scheme: str,
    headers: Mapping[str, str],
    peer: str | None,
    settings: Settings,
) -> str | None:
    """The origin a browser shows for this server's pages.

    ``GQL_PORTAL_PUBLIC_ORIGIN`` when set (the only answer that survives proxies which
    rewrite Host). Otherwise scheme and host as the request arrived, or as a trusted
    proxy (``GQL_PORTAL_TRUSTED_PROXIES``) reports them in ``X-Forwarded-Proto`` and
    ``X-Forwarded-Host``; from anyone else those headers are ignored. A page cannot
    choose the Host its victim's browser sends, so this is sound against CSRF.
    """
    if settings.public_origin:
        return normalize_origin(settings.public_origin)
    scheme = _HTTP_SCHEMES.get(scope_scheme, "http")
    host = headers.get("host")
    if (
        peer is not None
        and settings.trusted_proxies
        and is_trusted_peer(peer, settings.trusted_proxy_list)
    ):
        forwarded_proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        forwarded_host = headers.get("x-forwarded-host", "").split(",")[0].strip()
        scheme = _HTTP_SCHEMES.get(forwarded_proto, scheme)
        host = forwarded_host or host
    if not host:
        return None
    return normalize_origin(f"{scheme}://{host}")


def same_origin(origin: str, own: str | None) -> bool:
    return own is not None and normalize_origin(origin) == own
