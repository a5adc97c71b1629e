"""CSRF in a real browser: a page from another origin cannot make a cookie-authenticated
request change anything, over fetch, a form post or a WebSocket.

The hardest case on purpose: the other page is on ``localhost`` too, another port, so it is
the same *site* and Chromium sends the SameSite=Strict cookie with its requests; only the
server's checks (X-Session-Transport, Sec-Fetch-Site, Origin, the WebSocket's Origin) stand
in the way. The other origin is even listed in GQL_PORTAL_CORS_ORIGINS (CORS is for bearer
tokens only, never credentials). After each attempt the test reads the server's state as a
bearer client; a control request from the portal's own origin with the same cookie works,
so the cookie was live all along."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.driver import Browser
from tests.browser.other_origin import serving
from tests.browser.portal_server import PASSWORD, PortalServer

ADMIN = "secadmin@demo.example"
SWITCH_OFF = "mutation { setDomainTwoFactor(enabled: false) { twoFactorEnabled } }"
ME = "{ me { email } }"

ATTACKS: dict[str, str] = {
    "fetch-simple": """
        fetch(PORTAL + "/graphql", {method: "POST", mode: "no-cors", credentials: "include",
            headers: {"Content-Type": "text/plain"}, body: BODY})
          .then(() => finish("sent"), e => finish("error " + e));
    """,
    "fetch-json": """
        fetch(PORTAL + "/graphql", {method: "POST", mode: "no-cors", credentials: "include",
            headers: {"Content-Type": "application/json"}, body: BODY})
          .then(() => finish("sent"), e => finish("error " + e));
    """,
    "fetch-with-the-portal-header": """
        fetch(PORTAL + "/graphql", {method: "POST", credentials: "include",
            headers: {"Content-Type": "application/json", "X-Session-Transport": "cookie"},
            body: BODY})
          .then(r => r.text()).then(t => finish("read " + t), e => finish("error " + e));
    """,
    "form-text-plain": """
        const form = document.createElement("form");
        form.method = "POST"; form.action = PORTAL + "/graphql"; form.enctype = "text/plain";
        const field = document.createElement("input");
        const body = BODY.slice(0, -1) + ', "x": "';
        field.name = body; field.value = '"}';
        form.appendChild(field); document.body.appendChild(form);
        finish("submitted"); form.submit();
    """,
    "form-urlencoded": """
        const form = document.createElement("form");
        form.method = "POST"; form.action = PORTAL + "/graphql";
        const field = document.createElement("input");
        field.name = "query"; field.value = JSON.parse(BODY).query;
        form.appendChild(field); document.body.appendChild(form);
        finish("submitted"); form.submit();
    """,
    "websocket": """
        const socket = new WebSocket(PORTAL.replace("http", "ws") + "/graphql",
                                     "graphql-transport-ws");
        const seen = [];
        socket.onopen = () => socket.send(JSON.stringify({type: "connection_init"}));
        socket.onmessage = m => {
            seen.push(m.data);
            if (JSON.parse(m.data).type === "connection_ack")
                socket.send(JSON.stringify({id: "1", type: "subscribe",
                                            payload: JSON.parse(BODY)}));
        };
        socket.onclose = e => finish("closed " + e.code + " " + seen.join(" "));
        setTimeout(() => finish("open " + seen.join(" ")), 5000);
    """,
}


def attack_page(portal: str, script: str) -> str:
    return f"""<!doctype html><html lang="en"><head><title>Other origin</title></head>
<body><main><h1>Win a prize</h1></main><script>
const PORTAL = {json.dumps(portal)};
const BODY = {json.dumps(json.dumps({"query": SWITCH_OFF}))};
window.outcome = null;
function finish(text) {{ if (window.outcome === null) window.outcome = text; }}
{script}
</script></body></html>"""


@pytest.fixture(scope="module")
def other_origin_and_portal(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, PortalServer]]:
    pages: dict[str, tuple[str, dict[str, str]]] = {}
    with serving(pages) as other:
        server = PortalServer(tmp_path_factory.mktemp("csrf"), cors_origins=other)
        try:
            server.start()
            for name, script in ATTACKS.items():
                pages[f"/{name}"] = (attack_page(server.origin, script), {})
            yield other, server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def portal(other_origin_and_portal: tuple[str, PortalServer]) -> PortalServer:
    return other_origin_and_portal[1]


def cookie_session(portal: PortalServer) -> httpx.Cookies:
    answer = httpx.post(
        f"{portal.origin}/graphql",
        json={
            "query": "mutation($e: String!, $p: String!) "
            "{ login(email: $e, password: $p) { status token } }",
            "variables": {"e": ADMIN, "p": PASSWORD},
        },
        headers={"X-Session-Transport": "cookie"},
        timeout=30,
    )
    login = answer.json()["data"]["login"]
    assert login == {"status": "AUTHENTICATED", "token": None}, login
    assert answer.cookies, answer.headers
    return answer.cookies


def switch_is_on(portal: PortalServer) -> bool:
    data = portal.graphql(
        "{ domain { passwordSecurityRules { twoFactorEnabled } } }", token=portal.token(ADMIN)
    )
    enabled: bool = data["domain"]["passwordSecurityRules"]["twoFactorEnabled"]  # type: ignore[index]
    return enabled


def with_cookie(browser: Browser, cookies: httpx.Cookies) -> None:
    browser.open("/healthz")
    for cookie in cookies.jar:
        browser.driver.add_cookie(
            {"name": cookie.name, "value": cookie.value or "", "path": "/", "httpOnly": True,
             "sameSite": "Strict"}
        )  # fmt: skip


def own_origin_request(browser: Browser, query: str) -> object:
    browser.open("/healthz")
    return browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/graphql', {method: 'POST', credentials: 'same-origin', headers:"
        " {'Content-Type': 'application/json', 'X-Session-Transport': 'cookie'},"
        " body: JSON.stringify({query: arguments[0]})})"
        " .then(r => r.json()).then(done, e => done(String(e)));",
        query,
    )


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_another_origin_cannot_use_the_cookie_session(
    other_origin_and_portal: tuple[str, PortalServer], noisy_browser: Browser, attack: str
) -> None:
    other, portal = other_origin_and_portal
    browser = noisy_browser
    assert switch_is_on(portal)
    with_cookie(browser, portal_cookies := cookie_session(portal))
    # The control: from the portal's own origin this very cookie is a live session.
    assert own_origin_request(browser, ME) == {"data": {"me": {"email": ADMIN}}}

    browser.driver.get(f"{other}/{attack}")
    outcome = browser.wait(
        lambda: browser.driver.execute_script("return window.outcome"), what="the attack"
    ) if not attack.startswith("form") else "submitted"  # fmt: skip
    time.sleep(1.0)  # a form post navigates; let the server answer it
    assert "email" not in str(outcome) and "twoFactorEnabled" not in str(outcome), outcome
    assert switch_is_on(portal), f"{attack} changed the switch: {outcome}"
    # The cookie still works for the portal itself: the refusal was the server's choice.
    with_cookie(browser, portal_cookies)
    assert own_origin_request(browser, ME) == {"data": {"me": {"email": ADMIN}}}


def test_the_control_request_can_change_the_switch(
    other_origin_and_portal: tuple[str, PortalServer], noisy_browser: Browser, tmp_path: Path
) -> None:
    """The same mutation from the portal's own origin does change it: the attacks above
    fail because of where they come from, not because the mutation is broken."""
    _, portal = other_origin_and_portal
    with_cookie(noisy_browser, cookie_session(portal))
    answer = own_origin_request(noisy_browser, SWITCH_OFF)
    assert answer == {"data": {"setDomainTwoFactor": {"twoFactorEnabled": False}}}, answer
    assert not switch_is_on(portal)
    portal.graphql("mutation { setDomainTwoFactor(enabled: true) { twoFactorEnabled } }",
                   token=portal.token(ADMIN))  # fmt: skip
    assert switch_is_on(portal)
