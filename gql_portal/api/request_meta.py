from starlette.requests import HTTPConnection

from gql_portal.api.client_ip import client_ip
from gql_portal.request_meta import RequestMeta
from gql_portal.settings import get_settings


def request_meta(request: HTTPConnection) -> RequestMeta:
    peer = request.client.host if request.client else None
    ip = client_ip(peer, request.headers.get("x-forwarded-for"), get_settings().trusted_proxy_list)
    return RequestMeta(
        ip=ip,
        user_agent=request.headers.get("user-agent"),
        request_id=request.scope.get("state", {}).get("request_id"),
    )
