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
import re
from collections.abc import Iterator
from typing import NamedTuple

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.browser.driver import Browser
from tests.browser.other_origin import serving
from tests.browser.portal_server import PASSWORD, PortalServer

ADMIN = "secadmin@demo.example"
SWITCH_OFF = "mutation { setDomainTwoFactor(enabled: false) { twoFactorEnabled } }"
ME = "{ me { email } }"

# Opens the portal's WebSocket with the cookie the browser sends, then subscribes.
WEBSOCKET = """
    const socket = new WebSocket(PORTAL.replace("http", "ws") + "/graphql",
                                 "graphql-transport-ws");
    const seen = [];
    socket.onopen = () => socket.send(JSON.stringify({type: "connection_init"}));
    socket.onmessage = m => {
        seen.push(m.data);
        if (JSON.parse(m.data).type === "connection_ack")
            socket.send(JSON.stringify({id: "1", type: "subscribe", payload: PAYLOAD}));
    };
    socket.onclose = e => finish("closed " + e.code + " " + seen.join(" "));
    setTimeout(() => finish("open " + seen.join(" ")), 5000);
"""

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
    "websocket-mutation": WEBSOCKET.replace("PAYLOAD", "JSON.parse(BODY)"),
    "websocket-read": WEBSOCKET.replace("PAYLOAD", "{query: READ_JOB}"),
}


def attack_page(portal: str, script: str, job_id: str) -> str:
    read_job = "subscription { bulkJob(id: " + json.dumps(job_id) + ") { id status total } }"
    return f"""<!doctype html><html lang="en"><head><title>Other origin</title></head>
<body><main><h1>Win a prize</h1></main><script>
const PORTAL = {json.dumps(portal)};
const BODY = {json.dumps(json.dumps({"query": SWITCH_OFF}))};
const READ_JOB = {json.dumps(read_job)};
window.outcome = null;
function finish(text) {{ if (window.outcome === null) window.outcome = text; }}
{script}
</script></body></html>"""


class Setting(NamedTuple):
    listed: str  # another origin in GQL_PORTAL_CORS_ORIGINS (bearer CORS, never the cookie)
    unlisted: str  # another origin the portal knows nothing of
    portal: PortalServer
    job_id: str  # a bulk job of the signed-in admin's domain, for the read attempt


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    pages: dict[str, tuple[str, dict[str, str]]] = {}
    with serving(pages) as listed, serving(pages) as unlisted:
        server = PortalServer(tmp_path_factory.mktemp("csrf"), cors_origins=listed)
        try:
            server.start()
            job = server.graphql(
                "mutation { startBulkTwoFactorEnablement(dryRun: true) { id } }",
                token=server.token(ADMIN),
            )["startBulkTwoFactorEnablement"]
            assert isinstance(job, dict)
            for name, script in ATTACKS.items():
                pages[f"/{name}"] = (attack_page(server.origin, script, job["id"]), {})
            yield Setting(listed, unlisted, server, job["id"])
        finally:
            server.stop()


@pytest.fixture(scope="module")
def portal(setting: Setting) -> PortalServer:
    return setting.portal


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
    """A request from the portal's page (its CSP allows connect-src 'self')."""
    browser.open("/#/sign-in")
    return browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/graphql', {method: 'POST', credentials: 'same-origin', headers:"
        " {'Content-Type': 'application/json', 'X-Session-Transport': 'cookie'},"
        " body: JSON.stringify({query: arguments[0]})})"
        " .then(r => r.json()).then(done, e => done(String(e)));",
        query,
    )


@pytest.mark.parametrize("origin", ["listed", "unlisted"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_another_origin_cannot_use_the_cookie_session(
    setting: Setting, noisy_browser: Browser, attack: str, origin: str
) -> None:
    portal, browser = setting.portal, noisy_browser
    assert switch_is_on(portal)
    with_cookie(browser, portal_cookies := cookie_session(portal))
    # The control: from the portal's own origin this very cookie is a live session.
    assert own_origin_request(browser, ME) == {"data": {"me": {"email": ADMIN}}}

    browser.driver.get(f"{getattr(setting, origin)}/{attack}")
    if attack.startswith("form"):
        browser.wait(lambda: "/graphql" in browser.driver.current_url, what="the form post")
        outcome = browser.driver.find_element(By.TAG_NAME, "body").text
        assert '"FORBIDDEN"' in outcome, outcome
    else:
        outcome = browser.wait(
            lambda: browser.driver.execute_script("return window.outcome"), what="the attack"
        )
    assert ADMIN not in outcome and "twoFactorEnabled" not in outcome, outcome
    if attack == "websocket-read":
        # Refused at the handshake, or accepted (a CORS origin) but not as the admin.
        assert '"bulkJob":{' not in outcome.replace(" ", ""), outcome
        assert outcome.startswith("closed") or re.search(r"FORBIDDEN|UNAUTHENTICATED", outcome)
    assert switch_is_on(portal), f"{attack} changed the switch: {outcome}"
    # The cookie still works for the portal itself: the refusal was the server's choice.
    with_cookie(browser, portal_cookies)
    assert own_origin_request(browser, ME) == {"data": {"me": {"email": ADMIN}}}


def test_the_control_request_can_change_the_switch(
    setting: Setting, noisy_browser: Browser
) -> None:
    """The same mutation from the portal's own origin does change it: the attacks above
    fail because of where they come from, not because the mutation is broken."""
    portal = setting.portal
    with_cookie(noisy_browser, cookie_session(portal))
    answer = own_origin_request(noisy_browser, SWITCH_OFF)
    assert answer == {"data": {"setDomainTwoFactor": {"twoFactorEnabled": False}}}, answer
    assert not switch_is_on(portal)
    portal.graphql("mutation { setDomainTwoFactor(enabled: true) { twoFactorEnabled } }",
                   token=portal.token(ADMIN))  # fmt: skip
    assert switch_is_on(portal)
