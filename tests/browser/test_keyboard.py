"""The keyboard alone: signing in, the Users page's Actions menu (open, arrows, Escape gives
the focus back, Enter picks an item) and the whole setup flow, each control showing its
focus when it has it."""

from selenium.webdriver.common.keys import Keys

from tests.browser.driver import Browser
from tests.browser.portal_server import PASSWORD, PortalServer
from tests.browser.story import ENABLE, Authenticator, open_menu, qr_totp, state_of

ADMIN = "secadmin@demo.example"
ALICE = "alice@demo.example"  # the demo's user with 2FA DISABLED


def keyboard_sign_in(browser: Browser, email: str) -> None:
    browser.open("/#/sign-in")
    browser.field("Email")
    browser.tab_to("textbox", "Email")
    browser.press(email, Keys.TAB)
    browser.press(PASSWORD, Keys.ENTER)


def test_the_actions_menu_and_the_setup_flow_with_the_keyboard_alone(
    portal: PortalServer, browser: Browser
) -> None:
    keyboard_sign_in(browser, ADMIN)
    browser.role("link", "Users")
    browser.tab_to("link", "Users")
    browser.press(Keys.ENTER)
    browser.wait_route("/users")
    browser.role("button", f"Actions for {ALICE}")
    button = browser.tab_to("button", f"Actions for {ALICE}")
    browser.press(Keys.ENTER)
    browser.wait(lambda: open_menu(browser), what="the menu")
    assert browser.focused().aria_role == "menuitem"
    first = browser.focused().accessible_name
    browser.press(Keys.ARROW_DOWN)
    assert browser.focused().aria_role == "menuitem"
    assert browser.focused().accessible_name != first
    browser.press(Keys.ESCAPE)
    browser.wait(lambda: open_menu(browser) is None or None, what="the menu to close")
    assert browser.focused() == button
    assert state_of(browser, ALICE) == "DISABLED"
    browser.press(Keys.ENTER)
    browser.wait(lambda: open_menu(browser), what="the menu")
    for _ in range(6):
        if browser.focused().accessible_name.strip() == ENABLE:
            break
        browser.press(Keys.ARROW_DOWN)
    assert browser.focus_visible(browser.focused())
    browser.screen("15-demo-users-menu")
    browser.press(Keys.ENTER)
    browser.wait(
        lambda: state_of(browser, ALICE) == "PENDING_ENROLLMENT" or None, what="the new state"
    )
    browser.tab_to("link", "My account")
    browser.press(Keys.ENTER)
    browser.wait_route("/account")
    browser.role("button", "Sign out")
    browser.tab_to("button", "Sign out")
    browser.press(Keys.ENTER)
    browser.wait_route("/sign-in")

    keyboard_sign_in(browser, ALICE)
    browser.wait_route("/setup")
    authenticator = Authenticator(qr_totp(browser, ALICE))
    browser.screenshot("16-demo-setup")
    browser.tab_to("textbox", "Code")
    browser.press(authenticator.code())
    browser.tab_to("button", "Verify")
    browser.press(Keys.ENTER)
    browser.role("checkbox", "I have saved these codes")
    browser.tab_to("checkbox", "I have saved these codes")
    browser.press(Keys.SPACE)
    browser.tab_to("button", "Continue")
    browser.press(Keys.ENTER)
    browser.wait_route("/account")
