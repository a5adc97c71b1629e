"""Steps of the help page's story that several browser tests take."""

import io
import re
import time

import pyotp
import zxingcpp
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.driver import Browser

RECOVERY_CODE = re.compile(r"\b[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}\b")
ENABLE = "Enable Two-Factor Authentication"
NOT_AVAILABLE = "Two-Factor Authentication not available"
DISABLE = "Disable Two-Factor Authentication"
RESET = "Reset authenticator"


def navigate(browser: Browser, link: str, route: str) -> None:
    browser.click("link", link)
    browser.wait_route(route)


def row_of(browser: Browser, email: str) -> WebElement:
    button = browser.role("button", f"Actions for {email}")
    row: WebElement = button.find_element(By.XPATH, "./ancestor::tr[1]")
    return row


def state_of(browser: Browser, email: str) -> str:
    """The row's 2FA state cell (data-testid: role and name cannot single a cell out)."""
    cell = row_of(browser, email).find_element(By.CSS_SELECTOR, "[data-testid='2fa-state']")
    return str(cell.get_attribute("data-state"))


def open_actions(browser: Browser, email: str) -> list[str]:
    """Opens the row's Actions menu; returns the names of its items."""
    browser.click("button", f"Actions for {email}")
    browser.wait(lambda: open_menu(browser), what="the Actions menu")
    items = browser.driver.find_elements(By.CSS_SELECTOR, "[role=menu] [role=menuitem]")
    return [item.accessible_name.strip() for item in items if item.is_displayed()]


def open_menu(browser: Browser) -> WebElement | None:
    menus = browser.driver.find_elements(By.CSS_SELECTOR, "[role=menu]")
    return next((menu for menu in menus if menu.is_displayed()), None)


def close_menu(browser: Browser) -> None:
    browser.press(Keys.ESCAPE)
    browser.wait(lambda: open_menu(browser) is None or None, what="the menu to close")


def qr_totp(browser: Browser, email: str) -> pyotp.TOTP:
    """The QR code's image as the page shows it, decoded to the otpauth URI (zxing-cpp)."""

    def image() -> WebElement | None:
        for element in browser.driver.find_elements(By.TAG_NAME, "img"):
            if email in (element.get_attribute("alt") or "") and element.is_displayed():
                return element
        return None

    element = browser.wait(image, what=f"the QR code whose alt text names {email}")
    loaded = "return arguments[0].complete && arguments[0].naturalWidth > 0"
    browser.wait(lambda: browser.driver.execute_script(loaded, element), what="the QR image")
    shot = Image.open(io.BytesIO(element.screenshot_as_png)).convert("L")
    shot = shot.resize((shot.width * 3, shot.height * 3), Image.Resampling.NEAREST)
    decoded = zxingcpp.read_barcodes(shot)
    assert decoded, "zxing-cpp found no barcode in the QR image"
    uri = decoded[0].text
    assert uri.startswith("otpauth://totp/"), uri
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP)
    return totp


class Authenticator:
    """Codes as an app would show them, never one the server has already seen (the replay
    guard takes a step once; the server accepts one step either side of now). Never the
    previous step's code: typed late in a step, it would expire before the server sees it."""

    def __init__(self, totp: pyotp.TOTP) -> None:
        self.totp = totp
        self.last_step = -1

    def code(self) -> str:
        while True:
            now = int(time.time()) // 30
            step = max(now, self.last_step + 1)
            if step <= now + 1:
                self.last_step = step
                return str(self.totp.generate_otp(step))
            time.sleep(1)

    def wrong_code(self) -> str:
        now = int(time.time()) // 30
        valid = {self.totp.generate_otp(step) for step in range(now - 2, now + 3)}
        return next(c for c in ("000000", "111111", "222222") if c not in valid)


def saved_recovery_codes(browser: Browser) -> list[str]:
    browser.wait(lambda: len(RECOVERY_CODE.findall(browser.text())) >= 10, what="10 codes")
    codes = RECOVERY_CODE.findall(browser.text())
    assert len(set(codes)) == 10, codes
    return codes
