"""Invitations and password reset in the browser, from the link of the real mail (the
server's delivery writes it to its Maildir): set a password, sign in; a used link is refused
with a way to ask for a new one; Forgot password answers the same whatever the email.
axe-core finds nothing on any of these screens."""

from selenium.webdriver.common.keys import Keys

from tests.browser.driver import Browser
from tests.browser.link_mail import invite, mailed_link
from tests.browser.portal_server import PASSWORD, PortalServer

SENT = "If an account exists for that email, we sent a link"
UNUSABLE = "This link has expired or was already used"


def set_password(browser: Browser, password: str) -> None:
    browser.type("New password", password)
    browser.type("Confirm new password", password)
    browser.click("button", "Set password")


def test_an_invited_user_sets_a_password_from_the_mail_and_signs_in(
    portal: PortalServer, browser: Browser
) -> None:
    email = "invited@demo.example"
    invite(portal, email)
    link = mailed_link(portal, email, "Your new account: choose a password")
    browser.open(link)
    browser.wait_text("Welcome: choose your password")
    browser.wait_text("Use at least 12 characters")
    # The token left the address bar (and the history) once the page had it.
    assert "token" not in browser.driver.current_url
    browser.screen("30-invitation-set-password")
    browser.type("New password", "too-short")
    browser.type("Confirm new password", "too-short")
    browser.click("button", "Set password")
    browser.wait_text("Password must have at least 12 characters")
    browser.screen("31-set-password-errors")
    set_password(browser, "my-invited-password")
    browser.wait_route("/sign-in")
    browser.wait_text("Your password is set. Sign in with it.")
    browser.sign_in(email, "my-invited-password")
    browser.wait_route("/account")
    # The same link again: refused, with the way to a new one.
    browser.sign_out()
    browser.open(link)
    browser.wait_text(UNUSABLE)
    browser.screen("32-set-password-link-used")
    browser.click("link", "Send a new link")
    browser.wait_route("/forgot-password")


def test_forgotten_password_reset_then_sign_in_with_the_keyboard(
    portal: PortalServer, browser: Browser
) -> None:
    email = portal.create_user("demo.example", "forgetful@demo.example", "USER")
    browser.open("/#/sign-in")
    browser.field("Email")
    browser.tab_to("link", "Forgot your password?")
    browser.press(Keys.ENTER)
    browser.wait_route("/forgot-password")
    browser.tab_to("textbox", "Email")
    browser.press(email, Keys.ENTER)
    browser.wait_text(SENT)
    browser.screen("33-forgot-password-sent")
    # An unknown email gets the very same answer.
    browser.open("/#/forgot-password")
    browser.type("Email", "nobody@nowhere.example", submit=True)
    browser.wait_text(SENT)
    browser.open(mailed_link(portal, email, "Reset your password"))
    browser.wait_text("Set a new password")
    browser.tab_to("textbox", "New password")
    browser.press("my-reset-password", Keys.TAB, "my-reset-password", Keys.ENTER)
    browser.wait_text("Your password is set. Sign in with it.")
    browser.sign_in(email, "my-reset-password")
    browser.wait_route("/account")
    browser.sign_out()
    # The old password no longer signs in.
    browser.sign_in(email, PASSWORD)
    browser.wait_text("Enter a correct email and password.")


def test_a_link_without_a_usable_token_says_so(portal: PortalServer, browser: Browser) -> None:
    browser.open("/#/set-password?token=not-a-real-token")
    browser.wait_text(UNUSABLE)
    browser.role("link", "Send a new link")
