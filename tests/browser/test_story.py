"""The help page's story in Chromium, one step per test, in order, on a domain of its own
(`gql-portal create-domain` + `create-user`: the switch starts off):

a System Administrator cannot turn 2FA on; the Security Administrator finds the Actions item
"not available", turns Enable 2FA on (Update, "Settings saved successfully") and enables a
user; that user scans the QR code (decoded from the page by zxing-cpp), verifies, saves the
recovery codes; signs in again with a code, sees the attempts left after a wrong one, uses a
recovery code once; the switch goes off again; the audit log shows it all and exports CSV."""

import csv
import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select

from tests.browser.driver import Browser
from tests.browser.portal_server import PASSWORD, PortalServer
from tests.browser.story import (
    DISABLE,
    ENABLE,
    NOT_AVAILABLE,
    RESET,
    Authenticator,
    close_menu,
    navigate,
    open_actions,
    qr_totp,
    row_of,
    saved_recovery_codes,
    state_of,
)

DOMAIN = "story.example"
ADMIN = f"admin@{DOMAIN}"
SYSADMIN = f"sysadmin@{DOMAIN}"
ERIN = f"erin@{DOMAIN}"
FRANK = f"frank@{DOMAIN}"


class Story:
    authenticator: Authenticator
    recovery_codes: list[str]


STORY = Story()


@pytest.fixture(scope="module")
def story_domain(portal: PortalServer) -> PortalServer:
    portal.cli("create-domain", DOMAIN)
    portal.create_user(DOMAIN, ADMIN, "SECURITY_ADMIN", "USER")
    portal.create_user(DOMAIN, SYSADMIN, "SYSTEM_ADMIN", "USER")
    portal.create_user(DOMAIN, ERIN, "USER")
    portal.create_user(DOMAIN, FRANK, "USER")
    return portal


def two_factor_state(portal: PortalServer, email: str) -> str:
    token = portal.token(ADMIN)
    data = portal.graphql(
        "query($q: String!) { users(first: 5, filter: {search: $q}) "
        "{ edges { node { email twoFactor { state } } } } }",
        {"q": email},
        token=token,
    )
    edges = data["users"]["edges"]  # type: ignore[index]
    (node,) = [edge["node"] for edge in edges if edge["node"]["email"] == email]
    state: str = node["twoFactor"]["state"]
    return state


def domain_switch(portal: PortalServer) -> bool:
    data = portal.graphql(
        "{ domain { passwordSecurityRules { twoFactorEnabled } } }", token=portal.token(ADMIN)
    )
    enabled: bool = data["domain"]["passwordSecurityRules"]["twoFactorEnabled"]  # type: ignore[index]
    return enabled


def events_column(browser: Browser) -> list[WebElement]:
    """The Action cells of the audit log's events table."""
    return browser.driver.find_elements(
        By.XPATH, "//table[.//th[normalize-space()='Action']]/tbody/tr/td[2]"
    )


def open_settings(browser: Browser) -> None:
    navigate(browser, "Client Settings", "/settings")
    browser.role("heading", "Password Security Rules")


def test_sign_in_screen(story_domain: PortalServer, browser: Browser) -> None:
    browser.open("/")
    browser.wait_route("/sign-in")
    browser.field("Email")
    browser.field("Password")
    browser.role("button", "Sign in")
    browser.screen("01-sign-in")


def test_system_admin_cannot_turn_the_switch_on(
    story_domain: PortalServer, browser: Browser
) -> None:
    browser.sign_in(SYSADMIN, PASSWORD)
    open_settings(browser)
    switch = browser.role(("switch", "checkbox"), "Enable 2FA")
    assert not switch.is_selected()
    assert not switch.is_enabled() or switch.get_attribute("aria-readonly") == "true"
    browser.screen("02-settings-system-admin")
    navigate(browser, "Users", "/users")
    items = open_actions(browser, ERIN)
    assert ENABLE not in items and NOT_AVAILABLE not in items, items
    close_menu(browser)
    assert domain_switch(story_domain) is False


def test_security_admin_turns_2fa_on_and_enables_a_user(
    story_domain: PortalServer, browser: Browser
) -> None:
    browser.sign_in(ADMIN, PASSWORD)
    navigate(browser, "Users", "/users")
    assert NOT_AVAILABLE in open_actions(browser, ERIN)
    assert not browser.role("menuitem", NOT_AVAILABLE).is_enabled() or (
        browser.role("menuitem", NOT_AVAILABLE).get_attribute("aria-disabled") == "true"
    )
    browser.screen("03-users-switch-off")
    close_menu(browser)

    open_settings(browser)
    switch = browser.role(("switch", "checkbox"), "Enable 2FA")
    browser.pointer_click(switch)
    browser.click("button", "Update")
    browser.wait_text("Settings saved successfully")
    browser.screen("04-settings-saved")
    assert domain_switch(story_domain) is True

    navigate(browser, "Users", "/users")
    assert state_of(browser, ERIN) == "DISABLED"
    assert ENABLE in open_actions(browser, ERIN)
    browser.screen("05-users-actions-menu")
    browser.click("menuitem", ENABLE)
    browser.wait(
        lambda: state_of(browser, ERIN) == "PENDING_ENROLLMENT" or None, what="the new state"
    )
    assert "On, waiting for set-up" in row_of(browser, ERIN).text
    assert two_factor_state(story_domain, ERIN) == "PENDING_ENROLLMENT"
    browser.screen("06-users-enabled")


def test_system_admin_sees_the_actions_of_their_role(
    story_domain: PortalServer, browser: Browser
) -> None:
    browser.sign_in(SYSADMIN, PASSWORD)
    navigate(browser, "Users", "/users")
    items = open_actions(browser, ERIN)
    assert DISABLE in items and RESET in items, items
    assert ENABLE not in items and NOT_AVAILABLE not in items, items
    browser.screen("07-users-system-admin")
    close_menu(browser)


def test_the_user_enrolls_from_the_qr_code(story_domain: PortalServer, browser: Browser) -> None:
    browser.sign_in(ERIN, PASSWORD)
    browser.wait_route("/setup")
    browser.wait_text("Can't scan the code?")
    code_field = browser.field("Code")
    assert code_field.get_attribute("inputmode") == "numeric"
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    STORY.authenticator = Authenticator(qr_totp(browser, ERIN))
    browser.screen("08-setup-qr")

    browser.type("Code", STORY.authenticator.code())
    browser.click("button", "Verify")
    STORY.recovery_codes = saved_recovery_codes(browser)
    continue_button = browser.role("button", "Continue")
    assert not continue_button.is_enabled() or continue_button.get_attribute("aria-disabled")
    browser.screen("09-setup-recovery-codes")
    browser.click("button", "Download")
    downloaded = browser.download(".txt").read_text()
    assert sorted(re.findall(r"[a-z2-9]{4}(?:-[a-z2-9]{4}){3}", downloaded)) == sorted(
        STORY.recovery_codes
    )
    browser.click("checkbox", "I have saved these codes")
    browser.click("button", "Continue")
    browser.wait_route("/account")
    browser.screen("10-account")
    assert two_factor_state(story_domain, ERIN) == "ENROLLED"
    browser.sign_out()


def test_sign_in_asks_for_a_code_and_counts_wrong_ones(
    story_domain: PortalServer, browser: Browser
) -> None:
    browser.sign_in(ERIN, PASSWORD)
    browser.wait_route("/code")
    browser.screen("11-code-prompt")
    browser.type("Code", STORY.authenticator.wrong_code())
    browser.click("button", "Verify")
    browser.wait(
        lambda: re.search(r"\b4 attempts? left", browser.text(), re.IGNORECASE),
        what="the attempts left",
    )
    browser.screen("12-code-wrong")
    browser.type("Code", STORY.authenticator.code())
    browser.click("button", "Verify")
    browser.wait_route("/account")
    browser.sign_out()


def test_a_recovery_code_works_once(story_domain: PortalServer, browser: Browser) -> None:
    code = STORY.recovery_codes[0]
    for attempt in ("first", "second"):
        browser.sign_in(ERIN, PASSWORD)
        browser.wait_route("/code")
        browser.click("link", "Use a recovery code")
        browser.field("Recovery code")
        if attempt == "first":
            browser.screen("13-recovery-code")
        browser.type("Recovery code", code)
        browser.click("button", "Verify")
        if attempt == "first":
            browser.wait_route("/account")
            browser.wait_text("You used a recovery code")
            browser.sign_out()
        else:
            browser.wait_text("The code is not correct")
            assert browser.route == "/code"


def test_switch_off_shows_not_available(story_domain: PortalServer, browser: Browser) -> None:
    browser.sign_in(SYSADMIN, PASSWORD)
    open_settings(browser)
    switch = browser.role(("switch", "checkbox"), "Enable 2FA")
    assert switch.is_selected()
    browser.pointer_click(switch)
    browser.click("button", "Update")
    browser.wait_text("Settings saved successfully")
    assert domain_switch(story_domain) is False
    browser.sign_out()
    browser.sign_in(ADMIN, PASSWORD)
    navigate(browser, "Users", "/users")
    assert NOT_AVAILABLE in open_actions(browser, FRANK)
    close_menu(browser)


def test_the_audit_log_shows_filters_and_exports_the_story(
    story_domain: PortalServer, browser: Browser
) -> None:
    browser.sign_in(ADMIN, PASSWORD)
    navigate(browser, "Audit log", "/audit")
    story = {"Domain two factor enabled", "User two factor enabled", "TOTP enrolled"}
    browser.wait(
        lambda: story <= {cell.text for cell in events_column(browser)} or None,
        what="the story's events in the table",
    )
    browser.screen("14-audit-log")
    Select(browser.field("Action")).select_by_visible_text("Recovery code used")
    browser.click("button", "Apply filters")
    browser.wait(
        lambda: {cell.text for cell in events_column(browser)} == {"Recovery code used"} or None,
        what="only the filtered action in the events table",
    )

    browser.click("link", "Export CSV")
    exported = browser.download(".csv")
    rows = list(csv.DictReader(exported.read_text().splitlines()))
    assert rows and {row["action"] for row in rows} == {"RECOVERY_CODE_USED"}, rows[:3]
    assert {row["actor_email"] for row in rows} == {ERIN}
