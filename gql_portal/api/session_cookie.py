"""The portal's session cookie: set by the token-issuing mutations, cleared by logout."""

from datetime import datetime

from starlette.responses import Response

from gql_portal.api.context import Context
from gql_portal.api.credentials import Source, app_settings, cookie_name
from gql_portal.clock import utcnow


def deliver_token(context: Context, token: str, expires_at: datetime) -> str | None:
    """The token for the answer, or None when it went into the cookie (no script reads it)."""
    if not context.credentials.cookie_transport or not isinstance(context.response, Response):
        return token
    settings = app_settings(context.request)
    context.response.set_cookie(
        cookie_name(settings),
        token,
        max_age=max(0, int((expires_at - utcnow()).total_seconds())),
        path="/",
        secure=settings.is_production,
        httponly=True,
        samesite="strict",
    )
    return None


def clear_session_cookie(context: Context) -> None:
    credentials = context.credentials
    if not isinstance(context.response, Response):
        return
    if credentials.source is Source.COOKIE or credentials.cookie_transport:
        settings = app_settings(context.request)
        context.response.delete_cookie(
            cookie_name(settings),
            path="/",
            secure=settings.is_production,
            httponly=True,
            samesite="strict",
        )
