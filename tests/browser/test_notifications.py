"""The Notifications view under the Audit log (the mail written for a real enablement, its
filters, Load more) and the Password Security Rules' switch for optional mail."""

from selenium.webdriver.support.select import Select

from tests.browser.driver import Browser
from tests.browser.portal_server import PortalServer
from tests.browser.story import navigate

ADMIN = "secadmin@demo.example"
ALICE = "alice@demo.example"  # the demo's user with 2FA DISABLED

USERS = "{ users(first: 500) { edges { node { id email } } } }"
ENABLE = "mutation($id: ID!) { enableUserTwoFactor(userId: $id) { id } }"
DISABLE = "mutation($id: ID!) { disableUserTwoFactor(userId: $id) { id } }"


def _toggle(portal: PortalServer, email: str, *, times: int) -> None:
    """Enable 2FA for the user, then off and on again ``times`` times: one message each."""
    token = portal.token(ADMIN)
    users = portal.graphql(USERS, token=token)["users"]
    assert isinstance(users, dict)
    [user_id] = [edge["node"]["id"] for edge in users["edges"] if edge["node"]["email"] == email]
    portal.graphql(ENABLE, {"id": user_id}, token=token)
    for _ in range(times):
        portal.graphql(DISABLE, {"id": user_id}, token=token)
        portal.graphql(ENABLE, {"id": user_id}, token=token)


def test_the_notifications_view_lists_the_mail_of_a_real_enablement(
    portal: PortalServer, browser: Browser
) -> None:
    _toggle(portal, ALICE, times=26)  # 53 messages: more than a page of 50
    browser.sign_in(ADMIN, "correct-horse-battery")
    navigate(browser, "Audit log", "/audit")
    navigate(browser, "Notifications", "/notifications")
    browser.wait_text("2FA turned on for the user")
    row = browser.text()
    assert ALICE in row and "2FA turned off by an administrator" in row
    assert "Waiting to be sent" in row or "Sent" in row
    browser.wait_text("50 messages shown, newest first.")
    browser.screen("40-notifications")
    browser.click("button", "Load more")
    browser.wait_text("53 messages shown, newest first.")
    assert browser.absent("button", "Load more")
    Select(browser.field("Status")).select_by_visible_text("Failed")
    browser.click("button", "Apply filters")
    browser.wait_text("No messages match.")
    Select(browser.field("Status")).select_by_visible_text("Any status")
    Select(browser.field("Message")).select_by_visible_text("2FA turned on for the user")
    browser.click("button", "Apply filters")
    browser.wait_text("27 messages shown, newest first.")


def test_the_optional_mail_switch_on_password_security_rules(
    portal: PortalServer, browser: Browser
) -> None:
    browser.sign_in(ADMIN, "correct-horse-battery")
    browser.wait_route("/settings")
    box = browser.role("checkbox", "Send reminders and job summaries")
    browser.wait_text("Security messages (a change to a user's second factor")
    assert box.is_selected()
    browser.pointer_click(box)
    browser.click("button", "Update")
    browser.wait_text("Settings saved successfully")
    browser.screen("41-rules-optional-mail")
    rules = portal.graphql(
        "{ domain { passwordSecurityRules { optionalNotificationsEnabled } } }",
        token=portal.token(ADMIN),
    )["domain"]
    assert rules == {"passwordSecurityRules": {"optionalNotificationsEnabled": False}}
