"""My account -> Password and Sessions in Chromium: the domain's minimum length is shown and
checked, a wrong current password is refused on its field, a change keeps this session and
signs out the account's other sessions (a bearer session elsewhere stops working); the
sessions list marks this device, signs out another session, and Sign out everywhere ends
them all, this one included."""

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.browser.driver import Browser
from tests.browser.portal_server import PASSWORD, PortalServer
from tests.browser.story import navigate

DOMAIN = "account.example"
GINA = f"gina@{DOMAIN}"
HUGO = f"hugo@{DOMAIN}"
NEW_PASSWORD = "another-horse-battery-staple"


@pytest.fixture(scope="module")
def domain(portal: PortalServer) -> PortalServer:
    portal.cli("create-domain", DOMAIN)
    portal.create_user(DOMAIN, f"admin@{DOMAIN}", "SYSTEM_ADMIN", "SECURITY_ADMIN")
    portal.create_user(DOMAIN, GINA, "USER")
    portal.create_user(DOMAIN, HUGO, "USER")
    return portal


def session_works(portal: PortalServer, token: str) -> bool:
    response = httpx.post(
        f"{portal.origin}/graphql",
        json={"query": "{ me { email } }"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    return not response.get("errors") and response["data"]["me"] is not None


def minimum_length(portal: PortalServer, token: str) -> int:
    data = portal.graphql("{ domain { passwordSecurityRules { minPasswordLength } } }", token=token)
    return int(data["domain"]["passwordSecurityRules"]["minPasswordLength"])  # type: ignore[index]


def invalid(browser: Browser, label: str) -> bool:
    return browser.field(label).get_attribute("aria-invalid") == "true"


def test_change_password_signs_out_the_other_sessions(
    domain: PortalServer, browser: Browser
) -> None:
    elsewhere = domain.token(GINA)
    minimum = minimum_length(domain, elsewhere)
    browser.sign_in(GINA, PASSWORD)
    browser.wait_route("/account")
    navigate(browser, "Password", "/account/password")
    browser.wait_text(f"At least {minimum} characters.")
    browser.type("Current password", PASSWORD)
    browser.type("New password", "x" * (minimum - 1))
    browser.click("button", "Change password")
    browser.wait_text(f"The new password must be at least {minimum} characters")
    browser.type("New password", NEW_PASSWORD)
    browser.type("Confirm new password", NEW_PASSWORD + "!")
    browser.click("button", "Change password")
    browser.wait_text("The two new passwords are not the same")
    assert invalid(browser, "Confirm new password")
    browser.screen("41-password-errors")
    browser.type("Current password", "not-my-password")
    browser.type("Confirm new password", NEW_PASSWORD)
    browser.click("button", "Change password")
    browser.wait(lambda: invalid(browser, "Current password") or None, what="the refusal")
    assert session_works(domain, elsewhere)
    browser.type("Current password", PASSWORD)
    browser.type("New password", NEW_PASSWORD)
    browser.type("Confirm new password", NEW_PASSWORD)
    browser.click("button", "Change password")
    browser.wait_text("every other session of your account is signed out")
    browser.screen("42-password-changed")
    assert not session_works(domain, elsewhere)
    browser.driver.refresh()  # this session stays
    browser.wait_route("/account/password")
    browser.sign_out()
    browser.sign_in(GINA, NEW_PASSWORD)
    browser.wait_route("/account")


def session_rows(browser: Browser) -> list[tuple[str, str]]:
    rows = browser.driver.find_elements(By.CSS_SELECTOR, "[data-testid='sessions'] tr")
    return [(str(row.get_attribute("data-current")), row.text) for row in rows]


def test_sessions_sign_out_one_then_everywhere(domain: PortalServer, browser: Browser) -> None:
    script = domain.token(HUGO)
    browser.sign_in(HUGO, PASSWORD)
    browser.wait_route("/account")
    navigate(browser, "Sessions", "/account/sessions")
    browser.wait(lambda: len(session_rows(browser)) == 2 or None, what="two sessions")
    rows = dict(session_rows(browser))
    assert "This device" in rows["true"] and "Chrome on Linux" in rows["true"]
    assert "A script (httpx)" in rows["false"] and "127.0.0.1" in rows["false"]
    browser.screen("43-sessions")
    other = next(
        element
        for element in browser.driver.find_elements(
            By.CSS_SELECTOR, "[data-testid='sessions'] button"
        )
        if element.accessible_name.startswith("Sign out the session of A script (httpx)")
    )
    browser.pointer_click(other)
    browser.wait_text("is signed out.")
    browser.wait(lambda: len(session_rows(browser)) == 1 or None, what="one session left")
    assert not session_works(domain, script)

    second = domain.token(HUGO)
    browser.driver.refresh()
    browser.wait(lambda: len(session_rows(browser)) == 2 or None, what="the new session")
    browser.click("button", "Sign out everywhere")
    dialog = browser.role("dialog", "Sign out everywhere?")
    browser.screen("44-sign-out-everywhere")
    browser.pointer_click(
        next(
            b
            for b in dialog.find_elements(By.TAG_NAME, "button")
            if b.text == "Sign out everywhere"
        )
    )
    browser.wait_route("/sign-in")
    browser.wait_text("You are signed out everywhere.")
    assert not session_works(domain, second)
    browser.open("/#/account/sessions")  # the cookie is gone too
    browser.wait_route("/sign-in")
