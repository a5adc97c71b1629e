"""Debian's chromium through Selenium, with the helpers the story tests need: controls found
by role and accessible name (Chromium's own computation, WebDriver's "computed role" and
"computed label"), every request the page makes (the performance log), console errors (the
browser log), screenshots and axe-core run inside the page."""

import base64
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()

# Root in a container: no sandbox; nothing may talk to Google's services behind our back.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
)

# The CSS that narrows the candidates for a role; Chromium then decides the role and name.
CANDIDATES = {
    "button": "button, [role=button], input[type=submit], input[type=button]",
    "link": "a[href], [role=link]",
    "menuitem": "[role=menuitem]",
    "checkbox": "input[type=checkbox], [role=checkbox]",
    "switch": "[role=switch], input[type=checkbox]",
    "progressbar": "progress, [role=progressbar]",
    "img": "img, svg, [role=img]",
    "heading": "h1, h2, h3, h4, h5, h6, [role=heading]",
    "dialog": "dialog, [role=dialog], [role=alertdialog]",
    "combobox": "select, [role=combobox]",
}
FIELDS = "input, select, textarea, [role=textbox], [role=combobox]"

T = TypeVar("T")


def chromium_paths() -> tuple[str, str]:
    """Debian's chromium and its chromedriver (same version by construction); a clear skip
    without them locally, a failure under CI=true (.ci/run installs both)."""
    browser = os.environ.get("GQL_PORTAL_TEST_CHROMIUM") or shutil.which("chromium")
    driver = os.environ.get("GQL_PORTAL_TEST_CHROMEDRIVER") or shutil.which("chromedriver")
    if browser is None or driver is None:
        reason = "no Chromium: apt-get install chromium chromium-driver (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the browser tests")
        pytest.skip(reason)
    return browser, driver


class Browser:
    def __init__(self, origin: str, profile: Path, downloads: Path) -> None:
        binary, chromedriver = chromium_paths()
        options = Options()
        options.binary_location = binary
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
        service = Service(executable_path=chromedriver, log_output=str(profile.parent / "cd.log"))
        self.driver = webdriver.Chrome(options=options, service=service)
        self.driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
        self.origin = origin
        self.downloads = downloads
        self.requests: list[str] = []
        self.console: list[dict[str, object]] = []

    # -- navigation and waiting -------------------------------------------------------
    def open(self, path: str = "/") -> None:
        self.driver.get(self.origin + path)

    def wait(self, condition: Callable[[], T | None], timeout: float = 15, what: str = "") -> T:
        def attempt(_: object) -> T | None:
            try:
                return condition()
            except StaleElementReferenceException:
                return None

        try:
            result: T = WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(attempt)
        except TimeoutException:
            self.screenshot("timeout")
            raise AssertionError(f"waited {timeout}s for {what or condition}") from None
        return result

    @property
    def route(self) -> str:
        return urlparse(self.driver.current_url).fragment

    def wait_route(self, route: str, timeout: float = 15) -> None:
        self.wait(lambda: self.route == route or None, timeout, f"the route #{route}")

    def text(self) -> str:
        body: str = self.driver.find_element(By.TAG_NAME, "body").text
        return body

    def wait_text(self, text: str, timeout: float = 15) -> None:
        self.wait(lambda: text in self.text() or None, timeout, f"the text {text!r}")

    # -- controls by role and accessible name ----------------------------------------
    def _matching(self, css: str, roles: Iterable[str], name: str) -> list[WebElement]:
        roles = set(roles)
        found = []
        for element in self.driver.find_elements(By.CSS_SELECTOR, css):
            if element.accessible_name.strip() != name or not self.rendered(element):
                continue
            if roles and element.aria_role not in roles:
                continue
            found.append(element)
        return found

    def rendered(self, element: WebElement) -> bool:
        """On the page and not hidden (a control drawn by CSS may be transparent, such as
        a switch's checkbox under its track: Selenium's is_displayed says no to it)."""
        shown: bool = self.driver.execute_script(
            "const e = arguments[0]; return e.getClientRects().length > 0"
            " && getComputedStyle(e).visibility !== 'hidden' && !e.closest('[hidden]');",
            element,
        )
        return shown

    def all(self, role: str, name: str) -> list[WebElement]:
        return self._matching(CANDIDATES.get(role, f"[role={role}]"), [role], name)

    def role(self, role: str | tuple[str, ...], name: str, timeout: float = 15) -> WebElement:
        roles = (role,) if isinstance(role, str) else role
        css = ", ".join(CANDIDATES.get(each, f"[role={each}]") for each in roles)
        return self.wait(
            lambda: next(iter(self._matching(css, roles, name)), None),
            timeout,
            f"{'/'.join(roles)} named {name!r}",
        )

    def absent(self, role: str, name: str) -> bool:
        return not self.all(role, name)

    def field(self, label: str, timeout: float = 15) -> WebElement:
        return self.wait(
            lambda: next(iter(self._matching(FIELDS, [], label)), None),
            timeout,
            f"a field labelled {label!r}",
        )

    def click(self, role: str | tuple[str, ...], name: str) -> None:
        self.pointer_click(self.role(role, name))

    def pointer_click(self, element: WebElement) -> None:
        """A mouse click at the control's centre, on whatever is drawn there (a switch's
        track over its transparent checkbox), as a person clicks what they see."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        ActionChains(self.driver).move_to_element(element).click().perform()

    def type(self, label: str, text: str, *, submit: bool = False) -> None:
        element = self.field(label)
        element.clear()
        element.send_keys(text + (Keys.ENTER if submit else ""))

    def focused(self) -> WebElement:
        element: WebElement = self.driver.switch_to.active_element
        return element

    def press(self, *keys: str) -> None:
        """Keys to whatever has the focus, as a keyboard would send them."""
        ActionChains(self.driver).send_keys(*keys).perform()

    def tab_to(self, role: str | tuple[str, ...], name: str, limit: int = 80) -> WebElement:
        """Tab through the page until the control has the focus (fails after ``limit``);
        the control must show its focus (an outline or a box shadow)."""
        roles = (role,) if isinstance(role, str) else role
        for _ in range(limit):
            element = self.focused()
            try:
                reached = element.accessible_name.strip() == name and element.aria_role in roles
            except StaleElementReferenceException:
                # The page drew the focused element again (a list that finished loading):
                # ask for the focus again rather than tab past it.
                element = self.focused()
                reached = element.accessible_name.strip() == name and element.aria_role in roles
            if reached:
                assert self.focus_visible(element), f"{name!r} has the focus but shows none"
                return element
            self.press(Keys.TAB)
        raise AssertionError(f"Tab never reached the {'/'.join(roles)} named {name!r}")

    def focus_visible(self, element: WebElement) -> bool:
        """An outline or a box shadow on the control, or on the element drawn for it right
        after it (a switch's track)."""
        shown: bool = self.driver.execute_script(
            "const marked = e => { if (!e) return false; const s = getComputedStyle(e);"
            "  return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0"
            "          && s.outlineColor !== 'rgba(0, 0, 0, 0)') || s.boxShadow !== 'none'; };"
            "return marked(arguments[0]) || marked(arguments[0].nextElementSibling);",
            element,
        )
        return shown

    # -- sessions -------------------------------------------------------------------
    def sign_in(self, email: str, password: str) -> None:
        self.open("/#/sign-in")
        self.type("Email", email)
        self.type("Password", password)
        self.click("button", "Sign in")

    def sign_out(self) -> None:
        """Sign out where the screen offers it, else from My account."""
        if not (self.all("button", "Sign out") or self.all("link", "Sign out")):
            self.click("link", "My account")
            self.wait_route("/account")
        self.click(("button", "link"), "Sign out")
        self.wait_route("/sign-in")

    # -- evidence --------------------------------------------------------------------
    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def axe_violations(self) -> list[str]:
        """axe-core run in the page: injected through WebDriver's script execution, which
        the page's CSP does not govern (tests/browser/test_infrastructure.py checks that)."""
        self.driver.execute_script(AXE + "\n;return true;")
        violations: list[dict[str, object]] = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            "  .then(r => done(r.violations.map(v => ({id: v.id, help: v.help,"
            "     nodes: v.nodes.map(n => n.target.join(' '))}))))"
            "  .catch(e => done([{id: 'axe-error', help: String(e), nodes: []}]));"
        )
        return [f"{v['id']}: {v['help']} at {v['nodes']}" for v in violations]

    def screen(self, name: str) -> None:
        """A screen reached in the story: its screenshot, and axe-core finds nothing."""
        self.screenshot(name)
        assert self.axe_violations() == [], name

    def collect_logs(self) -> None:
        """The requests of the portal's pages (Chromium's own pages, such as the new tab
        page, are not the portal's) and every WebSocket the browser opened."""
        own = urlparse(self.origin).netloc
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message["params"]
            if message["method"] == "Network.webSocketCreated":
                self.requests.append(params["url"])
            elif message["method"] == "Network.requestWillBeSent":
                if urlparse(params.get("documentURL", "")).netloc == own:
                    self.requests.append(params["request"]["url"])
        self.console.extend(self.driver.get_log("browser"))

    def foreign_requests(self) -> list[str]:
        self.collect_logs()
        own = urlparse(self.origin)
        foreign = []
        for url in self.requests:
            parsed = urlparse(url)
            if parsed.scheme in ("data", "blob"):
                continue
            if parsed.scheme not in ("http", "ws") or parsed.netloc != own.netloc:
                foreign.append(url)
        return foreign

    def console_errors(self) -> list[str]:
        self.collect_logs()
        return [str(entry["message"]) for entry in self.console if entry["level"] == "SEVERE"]

    def download(self, suffix: str, timeout: float = 30) -> Path:
        def finished() -> Path | None:
            done = [p for p in self.downloads.iterdir() if p.name.endswith(suffix)]
            return done[0] if done else None

        return self.wait(finished, timeout, f"a downloaded *{suffix}")

    def quit(self) -> None:
        self.driver.quit()


def wait_until(condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {condition}")
        time.sleep(0.1)
