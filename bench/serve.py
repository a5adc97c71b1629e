"""Serve one of the bench apps with the same uvicorn options as ``gql-portal serve``.

python -m bench.serve portal|portal-no-middleware|bare --host 127.0.0.1 --port 8001
"""

import argparse

import uvicorn
from starlette.applications import Starlette

from gql_portal.settings import get_settings


def build(name: str) -> Starlette:
    from gql_portal.app import create_app
    from gql_portal.logs import configure_logging

    configure_logging()
    if name == "portal":
        return create_app()
    if name == "portal-no-middleware":
        return create_app(middleware=False)
    from bench.bare import create_bare_app

    return create_bare_app()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app", choices=["portal", "portal-no-middleware", "bare"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        build(args.app),
        host=args.host,
        port=args.port,
        proxy_headers=False,
        log_level=get_settings().log_level.lower(),
    )


if __name__ == "__main__":
    main()
