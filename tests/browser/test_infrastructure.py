"""The browser harness itself: Debian's chromium starts with the agreed flags, and axe-core
injected through WebDriver's script execution runs on a page whose CSP (CONTRACT section 9's,
as the portal sends it) blocks every script the page itself would inject."""

from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.driver import Browser
from tests.browser.other_origin import serving

PORTAL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE = """<!doctype html><html lang="en"><head><title>CSP check</title></head><body>
<main><h1>CSP check</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<script>window.inlineRan = true;</script>
</main></body></html>"""


def test_axe_runs_under_the_portal_csp_that_blocks_injected_scripts(tmp_path: Path) -> None:
    (tmp_path / "downloads").mkdir()
    with serving({"/": (PAGE, {"Content-Security-Policy": PORTAL_CSP})}) as origin:
        browser = Browser(origin, tmp_path / "profile", tmp_path / "downloads")
        try:
            browser.open("/")
            browser.wait(lambda: browser.driver.find_elements(By.TAG_NAME, "h1"))
            # The page's own inline script and a script element added at run time are blocked.
            assert browser.driver.execute_script("return window.inlineRan === true") is False
            browser.driver.execute_script(
                "const s = document.createElement('script');"
                "s.textContent = 'window.domInjected = true';"
                "document.body.appendChild(s);"
            )
            assert browser.driver.execute_script("return window.domInjected === true") is False
            assert any("Content Security Policy" in error for error in browser.console_errors())
            # axe-core through WebDriver runs anyway, and finds the image without alt text.
            violations = browser.axe_violations()
            assert any(violation.startswith("image-alt:") for violation in violations)
        finally:
            browser.quit()


FOCUS_PAGE = """<!doctype html><html lang="en"><head><title>Focus check</title><style>
#hidden-focus:focus { outline: none; }
</style></head><body><main><h1>Focus check</h1>
<button id="shown-focus">Shown</button> <button id="hidden-focus">Hidden</button>
</main></body></html>"""


def test_the_focus_check_tells_a_visible_focus_from_none(tmp_path: Path) -> None:
    (tmp_path / "downloads").mkdir()
    with serving({"/": (FOCUS_PAGE, {})}) as origin:
        browser = Browser(origin, tmp_path / "profile", tmp_path / "downloads")
        try:
            browser.open("/")
            shown = browser.tab_to("button", "Shown")
            assert browser.focus_visible(shown)
            hidden = browser.role("button", "Hidden")
            assert not browser.focus_visible(hidden)  # not focused: no outline
            browser.press(Keys.TAB)
            assert browser.focused() == hidden
            assert not browser.focus_visible(hidden)  # focused, but its outline is removed
        finally:
            browser.quit()
