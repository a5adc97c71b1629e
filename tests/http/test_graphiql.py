"""GraphiQL works offline in development: its page references only this server, every
asset answers, the vendored files are the pinned, unmodified ones with their licenses."""

import hashlib
import json
import re
from html.parser import HTMLParser

from gql_portal.app import create_app
from gql_portal.http.graphiql import HERE, STATIC
from tests.graphql import GraphQLClient
from tests.http.support import client_for, production_settings


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.urls.append(found[name] or "")
        self._in_script = tag == "script" and not found.get("src")
        if "style" in found or any(name.startswith("on") for name in found):
            self.inline_scripts += 1

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


async def test_the_page_references_only_this_server(client: GraphQLClient) -> None:
    page = await client.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parser = _References()
    parser.feed(page.text)
    assert parser.inline_scripts == 0
    assets = [url for url in parser.urls if not url.startswith("data:")]
    assert len(assets) == 6, assets
    for url in assets:
        assert url.startswith("/graphiql/"), url  # no scheme, no host: this server only
        answer = await client.http.get(url)
        assert answer.status_code == 200, url
        assert answer.content == (STATIC / url.removeprefix("/graphiql/")).read_bytes()
    assert not re.search(r"https?://", page.text)
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "connect-src 'self';" in csp
    assert not re.search(r"https?:|\*", csp)
    assert "unsafe" not in csp
    asset = await client.http.get("/graphiql/graphiql.min.js")
    assert asset.headers["content-security-policy"] == csp


async def test_vendored_files_are_the_pinned_ones() -> None:
    manifest = json.loads((HERE / "vendor.json").read_text())
    packages = {entry["package"] for entry in manifest.values()}
    assert packages == {"react@18.2.0", "react-dom@18.2.0", "graphiql@3.8.3"}
    for name, entry in manifest.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == entry["sha256"], name
    for package in ("react", "react-dom", "graphiql"):
        assert "MIT License" in (STATIC / f"LICENSE.{package}").read_text()


async def test_production_serves_no_graphiql() -> None:
    async with client_for(create_app(production_settings(), manage_database=False)) as client:
        assert (await client.http.get("/graphiql/graphiql.min.js")).status_code == 404
        page = await client.http.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in page.text.lower()
