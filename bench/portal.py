"""Issue 13: the portal in Chromium (Debian's chromium and chromedriver, as tests/browser).

- weight: every file the browser loads for the Sign in screen (HTML, JS, CSS, the .graphql
  documents), uncompressed and gzip -9, as the server sends them;
- time to a usable Sign in screen (the Email field and the Sign in button on the page,
  enabled), from the navigation's start, cache disabled, against a static HTML page with the
  same form served in the same run;
- time to a rendered Users page of 500 rows (signed in by the cookie; "Load more" is clicked
  by a script in the page as soon as it can be, as a fast user would) against a static HTML
  page holding the same 500 rows with the portal's stylesheet, loaded in the same run.

Timings come from the page itself (performance.now(), whose zero is the navigation's start):
a watcher added with Page.addScriptToEvaluateOnNewDocument notes when the condition first
holds. Runs alternate baseline and ours; medians and the median per-run ratio are printed.
"""

import gzip
import html
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import urlopen

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from bench.harness import ROOT, Row, backends, bench_database, parser, portal_server, report
from tests.browser.driver import FLAGS
from tests.browser.other_origin import serving

ROWS = 500
PASSWORD = "correct-horse-battery"
ADMIN = "secadmin@demo.example"

# Notes performance.now() when window.__ready() first returns true; clicks "Load more" for
# the Users page while fewer than ROWS rows are shown.
WATCHER = """
window.__readyAt = null;
const check = () => {
  if (window.__readyAt !== null) return;
  try {
    if (window.__ready && window.__ready()) { window.__readyAt = performance.now(); return; }
  } catch (e) {}
  requestAnimationFrame(check);
};
requestAnimationFrame(check);
"""
SIGN_IN_READY = """
window.__ready = () => {
  const button = [...document.querySelectorAll('button')]
    .find(b => b.textContent.trim() === 'Sign in' && !b.disabled);
  const email = [...document.querySelectorAll('input')].find(i => i.labels && [...i.labels]
    .some(l => l.textContent.trim() === 'Email') && !i.disabled);
  return Boolean(button && email);
};
"""
FIRST_PAGE = 50
USERS_READY = """
window.__ready = () => {{
  const rows = document.querySelectorAll('tbody tr').length;
  if (rows >= {rows}) return true;
  const more = [...document.querySelectorAll('button')]
    .find(b => b.textContent.trim() === 'Load more' && !b.disabled);
  if (more && more.dataset.benchClickedAt !== String(rows)) {{
    more.dataset.benchClickedAt = String(rows);
    more.click();
  }}
  return false;
}};
"""
STATIC_SIGN_IN = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sign in</title><link rel="stylesheet" href="{origin}/portal/styles.css"></head>
<body><main><h1>Sign in</h1><form>
<label for="e">Email</label><input id="e" type="email" autocomplete="username">
<label for="p">Password</label><input id="p" type="password" autocomplete="current-password">
<button type="submit">Sign in</button></form></main></body></html>"""


def chromium() -> webdriver.Chrome:
    options = Options()
    options.binary_location = os.environ.get("GQL_PORTAL_TEST_CHROMIUM", "/usr/bin/chromium")
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='gql_portal_bench_cr_')}")
    driver_path = os.environ.get("GQL_PORTAL_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    return driver


def timed_load(driver: webdriver.Chrome, url: str, ready: str, timeout: float = 60) -> float:
    """Milliseconds from the navigation's start until ``ready`` first holds."""
    script = driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": ready + WATCHER}
    )
    try:
        driver.get("about:blank")
        driver.get(url)
        driver.set_script_timeout(timeout)
        at = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "const wait = () => window.__readyAt !== null ? done(window.__readyAt)"
            " : setTimeout(wait, 20); wait();"
        )
        return float(at)
    finally:
        driver.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )


def weight(driver: webdriver.Chrome, origin: str) -> dict[str, int]:
    """What the browser fetched from the portal for the Sign in screen, raw and gzip -9."""
    timed_load(driver, f"{origin}/#/sign-in", SIGN_IN_READY)
    loaded = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    urls = [origin + "/", *loaded]
    totals = {"files": 0, "raw": 0, "gzip": 0}
    for url in dict.fromkeys(urls):
        if not url.startswith(origin) or urlparse(url).path == "/graphql":
            continue
        with urlopen(url, timeout=30) as response:
            body = response.read()
        totals["files"] += 1
        totals["raw"] += len(body)
        totals["gzip"] += len(gzip.compress(body, compresslevel=9))
    return totals


def seed(db: Any) -> None:
    """The demo domain with ROWS generated users, seeded in development (demo refuses
    production), then served in production like the other bench scripts."""
    env = {**db.env, "GQL_PORTAL_ENVIRONMENT": "development"}
    subprocess.run(
        [sys.executable, "-m", "gql_portal.cli", "demo", "--users", str(ROWS)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )


def cookie_sign_in(driver: webdriver.Chrome, origin: str) -> None:
    driver.get(f"{origin}/#/sign-in")  # a portal page: its CSP allows connect-src 'self'
    answer = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/graphql', {method: 'POST', credentials: 'same-origin', headers:"
        " {'Content-Type': 'application/json', 'X-Session-Transport': 'cookie'},"
        " body: JSON.stringify({query: 'mutation($e: String!, $p: String!)"
        " { login(email: $e, password: $p) { status } }', variables: {e: arguments[0],"
        " p: arguments[1]}})}).then(r => r.json()).then(done, e => done(String(e)));",
        ADMIN,
        PASSWORD,
    )
    assert answer == {"data": {"login": {"status": "AUTHENTICATED"}}}, answer


def static_users_page(driver: webdriver.Chrome, origin: str) -> str:
    """The same rows as the portal shows, read from the API with the same cookie."""
    users: list[dict[str, Any]] = []
    after = None
    while len(users) < ROWS:
        page = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch('/graphql', {method: 'POST', credentials: 'same-origin', headers:"
            " {'Content-Type': 'application/json', 'X-Session-Transport': 'cookie'},"
            " body: JSON.stringify({query: 'query($a: String) { users(first: 100, after: $a)"
            " { edges { node { email displayName roles twoFactor { state } } }"
            " pageInfo { endCursor } } }', variables: {a: arguments[0]}})})"
            " .then(r => r.json()).then(done, e => done(String(e)));",
            after,
        )["data"]["users"]
        users += [edge["node"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
    rows = "\n".join(
        f"<tr><td>{html.escape(u['displayName'] or '')}</td><td>{html.escape(u['email'])}</td>"
        f"<td>{html.escape(', '.join(u['roles']))}</td><td>{u['twoFactor']['state']}</td>"
        f"<td><button type='button'>Actions for {html.escape(u['email'])}</button></td></tr>"
        for u in users[:ROWS]
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Users</title>'
        f'<link rel="stylesheet" href="{origin}/portal/styles.css"></head><body><main>'
        f"<h1>Users</h1><table><thead><tr><th>Name</th><th>Email</th><th>Roles</th>"
        f"<th>2FA</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table></main>"
        f"</body></html>"
    )


def measure(kind: str, runs: int) -> tuple[dict[str, int], list[Row]]:
    with bench_database(kind, "portal") as db:
        seed(db)
        with portal_server(db, cpu=None) as portal:
            origin = f"http://localhost:{portal.port}"
            driver = chromium()
            try:
                sizes = weight(driver, origin)
                cookie_sign_in(driver, origin)
                pages = {"/sign-in": STATIC_SIGN_IN.format(origin=origin)}
                pages["/users"] = static_users_page(driver, origin)
                sign_in: tuple[list[float], list[float]] = ([], [])
                users: tuple[list[float], list[float]] = ([], [])
                first: tuple[list[float], list[float]] = ([], [])
                all_rows = USERS_READY.format(rows=ROWS)
                first_rows = USERS_READY.format(rows=FIRST_PAGE)
                with serving({path: (page, {}) for path, page in pages.items()}) as static:
                    for _ in range(runs):
                        sign_in[0].append(timed_load(driver, f"{static}/sign-in", SIGN_IN_READY))
                        users[0].append(timed_load(driver, f"{static}/users", all_rows))
                        users[1].append(timed_load(driver, f"{origin}/#/users", all_rows))
                        first[0].append(timed_load(driver, f"{static}/users", first_rows))
                        first[1].append(timed_load(driver, f"{origin}/#/users", first_rows))
                        driver.delete_all_cookies()
                        sign_in[1].append(timed_load(driver, f"{origin}/#/sign-in", SIGN_IN_READY))
                        cookie_sign_in(driver, origin)
            finally:
                driver.quit()
    return sizes, [
        Row("usable Sign in", "ms", *sign_in),
        Row(f"Users, first {FIRST_PAGE} rows", "ms", *first),
        Row(f"Users, {ROWS} rows", "ms", *users, at_most=2),
    ]


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__).parse_args(argv)
    rows: dict[str, list[Row]] = {}
    sizes: dict[str, int] = {}
    for kind in backends(args.db):
        sizes, rows[kind] = measure(kind, max(args.runs, 5))
    print(
        f"\n== portal weight (what Chromium loads for Sign in): {sizes['files']} files, "
        f"{sizes['raw']:,} bytes uncompressed, {sizes['gzip']:,} bytes gzip -9"
    )
    report(
        "Portal in Chromium: time to usable screens (from the navigation's start)",
        "static HTML with the same form / the same 500 rows, same run",
        "the portal (gql-portal serve, production settings)",
        rows,
        args.json_out,
    )
    if args.json_out:
        data = json.loads(Path(args.json_out).read_text())
        data["weight"] = sizes
        Path(args.json_out).write_text(json.dumps(data, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
