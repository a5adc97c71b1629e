"""Which credential a request carries, and whether a cookie-mode request may go on.

The one place that decides it (CONTRACT section 9), for POST and GET /graphql (fast path
and strawberry's), the WebSocket and ``GET /audit/export``:

- ``Authorization: Bearer`` (or, over a WebSocket, the ``connection_init`` payload) takes
  precedence over the cookie; a bad bearer is UNAUTHENTICATED even beside a good cookie.
- A request is in *cookie mode* when the session cookie is its credential, or when it
  asks for the cookie transport (``X-Session-Transport: cookie``, so that ``login`` would
  set the cookie: login CSRF). A cookie-mode request is refused (FORBIDDEN, before
  anything runs) unless a POST carries ``X-Session-Transport: cookie``, ``Sec-Fetch-Site``
  (when sent) is ``same-origin`` (or ``none`` for a navigated GET such as an export link)
  and ``Origin`` (when sent) is the server's own. Over a WebSocket the cookie counts only
  when ``Origin`` is the server's own.
"""

from dataclasses import dataclass
from enum import Enum

from starlette.requests import HTTPConnection

from gql_portal.api.origins import own_origin, same_origin
from gql_portal.settings import Settings, get_settings

TRANSPORT_HEADER = "x-session-transport"
COOKIE_TRANSPORT = "cookie"


class Source(Enum):
    NONE = "none"
    BEARER = "bearer"
    COOKIE = "cookie"


@dataclass(frozen=True, slots=True)
class Credentials:
    # None: no credential; "": a credential that is not a bearer token (UNAUTHENTICATED).
    token: str | None
    source: Source
    # The client asked for the cookie transport and passed the checks: token-issuing
    # mutations set the cookie and answer ``token: null``.
    cookie_transport: bool = False
    # Why a cookie-mode request is refused (FORBIDDEN), else None.
    refusal: str | None = None


def app_settings(connection: HTTPConnection) -> Settings:
    """The settings the serving app was built with (tests build apps with their own)."""
    settings = getattr(getattr(connection.scope.get("app"), "state", None), "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def cookie_name(settings: Settings) -> str:
    # __Host-: the browser keeps it only if Secure, Path=/ and no Domain (no subdomain or
    # plain-HTTP page can plant or overwrite it).
    return "__Host-gqlp_session" if settings.is_production else "gqlp_session"


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def server_origin(connection: HTTPConnection, settings: Settings | None = None) -> str | None:
    """The server's own origin as this request reached it (api/origins.py decides how)."""
    peer = connection.client.host if connection.client else None
    settings = settings or app_settings(connection)
    return own_origin(connection.scope["scheme"], connection.headers, peer, settings)


def _cross_site(connection: HTTPConnection, method: str, settings: Settings) -> str | None:
    headers = connection.headers
    if method == "POST" and headers.get(TRANSPORT_HEADER) != COOKIE_TRANSPORT:
        return "A POST with the session cookie needs X-Session-Transport: cookie"
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and not (
        fetch_site == "same-origin" or (fetch_site == "none" and method == "GET")
    ):
        return "The session cookie is accepted from the portal's own pages only"
    origin = headers.get("origin")
    if origin is not None and not same_origin(origin, server_origin(connection, settings)):
        return "The session cookie is accepted from the portal's own origin only"
    return None


def request_credentials(
    connection: HTTPConnection, settings: Settings | None = None
) -> Credentials:
    """The credential of an HTTP request (POST/GET /graphql, GET /audit/export)."""
    settings = settings or app_settings(connection)
    method = connection.scope.get("method", "GET")
    wants_cookie = connection.headers.get(TRANSPORT_HEADER) == COOKIE_TRANSPORT
    header = connection.headers.get("authorization")
    cookie = None if header is not None else connection.cookies.get(cookie_name(settings))
    if header is None and cookie is None and not wants_cookie:
        return Credentials(None, Source.NONE)
    refusal = _cross_site(connection, method, settings) if wants_cookie or cookie else None
    if header is not None:
        token, source = _bearer(header), Source.BEARER
    elif cookie is not None:
        token, source = cookie, Source.COOKIE
    else:
        token, source = None, Source.NONE
    return Credentials(token, source, cookie_transport=wants_cookie, refusal=refusal)


def websocket_credentials(
    connection: HTTPConnection, connection_params: object, settings: Settings | None = None
) -> Credentials:
    """The credential of a graphql-transport-ws connection: the Authorization header, or
    ``connection_init``'s ``{"Authorization": "Bearer ..."}``, or the cookie when the
    handshake came from the server's own origin (browsers always send Origin here)."""
    settings = settings or app_settings(connection)
    header = connection.headers.get("authorization")
    if header is None and isinstance(connection_params, dict):
        value = connection_params.get("Authorization") or connection_params.get("authorization")
        header = value if isinstance(value, str) else None
    if header is not None:
        return Credentials(_bearer(header), Source.BEARER)
    cookie = connection.cookies.get(cookie_name(settings))
    if cookie is None:
        return Credentials(None, Source.NONE)
    origin = connection.headers.get("origin")
    if origin is None or not same_origin(origin, server_origin(connection, settings)):
        refusal = "The session cookie is accepted from the portal's own origin only"
        return Credentials(cookie, Source.COOKIE, refusal=refusal)
    return Credentials(cookie, Source.COOKIE)
