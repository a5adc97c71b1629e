"""Issue 14's screens in Chromium, used as a person would, on a domain of its own: a System
Administrator adds a user with the keyboard alone (who then signs in), edits roles (never
their own), deactivates a user (whose sign-in and session then fail) and reactivates them,
is refused the last Security Administrator's deactivation, unlocks a password lock after 10
failed sign-ins, imports a CSV (the preview names the bad line, the import applies the good
ones), and creates a SCIM token that a real request to /scim/v2 uses until it is revoked.
A Security Administrator sees none of those items. My account: a password change checks
the domain's minimum length, keeps this session and signs out the others; the sessions
list marks this device, signs out another one, then everywhere. Each screen passes
axe-core. One module, one server (a server start is the slow part)."""

from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select

from tests.browser.driver import Browser
from tests.browser.portal_server import PASSWORD, PortalServer
from tests.browser.story import close_menu, navigate, open_actions, row_of

DOMAIN = "prov.example"
ADMIN = f"sysadmin@{DOMAIN}"
SECURITY = f"secadmin@{DOMAIN}"
ERIN = f"erin@{DOMAIN}"
FRANK = f"frank@{DOMAIN}"
LENA = f"lena@{DOMAIN}"
GINA = f"gina@{DOMAIN}"
HUGO = f"hugo@{DOMAIN}"
PEOPLE = (ERIN, FRANK, LENA, GINA, HUGO)
NEW = f"nina@{DOMAIN}"
NEW_PASSWORD = "a-long-enough-new-password"
ADMIN_ITEMS = {"Edit", "Deactivate"}


@pytest.fixture(scope="module")
def domain(portal: PortalServer) -> PortalServer:
    """The admins from the CLI, the others through createUser (no process per user)."""
    portal.cli("create-domain", DOMAIN)
    portal.create_user(DOMAIN, ADMIN, "SYSTEM_ADMIN", "USER")
    token = portal.token(ADMIN)
    for email, role in [(SECURITY, "SECURITY_ADMIN")] + [(e, "USER") for e in PEOPLE]:
        portal.graphql(
            "mutation($e: String!, $r: Role!, $p: String!) "
            "{ createUser(input: {email: $e, roles: [$r], password: $p}) { id } }",
            {"e": email, "r": role, "p": PASSWORD},
            token=token,
        )
    return portal


def answer(
    portal: PortalServer, query: str, variables: dict[str, object] | None = None, token: str = ""
) -> dict[str, object]:
    """The whole GraphQL answer, errors included (PortalServer.graphql asserts none)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"query": query, "variables": variables or {}}
    response = httpx.post(f"{portal.origin}/graphql", json=body, headers=headers, timeout=30)
    result: dict[str, object] = response.json()
    return result


def login_status(portal: PortalServer, email: str, password: str = PASSWORD) -> str:
    """AUTHENTICATED (or a 2FA step), else the error's code."""
    result = answer(
        portal,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { status } }",
        {"e": email, "p": password},
    )
    if result.get("errors"):
        return str(result["errors"][0]["extensions"]["code"])  # type: ignore[index]
    return str(result["data"]["login"]["status"])  # type: ignore[index]


def session_works(portal: PortalServer, token: str) -> bool:
    result = answer(portal, "{ me { email } }", token=token)
    return not result.get("errors") and result["data"]["me"] is not None  # type: ignore[index]


def cell(browser: Browser, email: str, testid: str) -> WebElement:
    element: WebElement = row_of(browser, email).find_element(
        By.CSS_SELECTOR, f"[data-testid='{testid}']"
    )
    return element


def users_screen(browser: Browser, email: str) -> None:
    browser.sign_in(email, PASSWORD)
    browser.role("link", "Users")
    navigate(browser, "Users", "/users")


def pick(browser: Browser, email: str, item: str) -> None:
    assert item in open_actions(browser, email)
    browser.click("menuitem", item)


def confirm(browser: Browser, title: str, button: str) -> None:
    dialog = browser.role("dialog", title)
    browser.pointer_click(
        next(b for b in dialog.find_elements(By.TAG_NAME, "button") if b.text == button)
    )
    browser.wait(lambda: not browser.all("dialog", title) or None, what="the dialog to close")


def test_a_security_administrator_sees_no_account_management(
    domain: PortalServer, browser: Browser
) -> None:
    users_screen(browser, SECURITY)
    browser.wait_text("users.")
    assert browser.absent("link", "Add user") and browser.absent("link", "Import CSV")
    assert ADMIN_ITEMS.isdisjoint(open_actions(browser, ERIN))
    close_menu(browser)
    navigate(browser, "Client Settings", "/settings")
    assert browser.absent("link", "Provisioning")
    for route in ("users/new", "users/import", "settings/provisioning"):
        browser.open(f"/#/{route}")
        browser.wait(lambda left=f"/{route}": browser.route != left or None, what=route)


def test_add_user_with_the_keyboard_alone_then_they_sign_in(
    domain: PortalServer, browser: Browser
) -> None:
    users_screen(browser, ADMIN)
    browser.wait_text("7 users.")
    browser.screen("30-users-admin")
    browser.tab_to("link", "Add user")
    browser.press(Keys.ENTER)
    browser.wait_route("/users/new")
    browser.tab_to("button", "Add user")
    browser.press(Keys.ENTER)  # nothing typed: the errors, next to the fields and summarised
    browser.wait_text("Enter the email address")
    assert browser.focused().get_attribute("class") == "error-summary"
    browser.screen("31-add-user-errors")
    browser.tab_to("textbox", "Email")
    browser.press(NEW, Keys.TAB, "Nina New")
    auditor = browser.tab_to("checkbox", "Auditor")
    browser.press(Keys.SPACE)
    assert auditor.is_selected() and browser.role("checkbox", "User").is_selected()
    browser.tab_to("textbox", "Password (optional)")
    browser.press(NEW_PASSWORD, Keys.ENTER)
    browser.wait_route("/users")
    browser.wait_text(f"{NEW} is added and can sign in with the password you set.")
    browser.wait_text("8 users.")
    assert "User, Auditor" in row_of(browser, NEW).text
    browser.sign_out()
    browser.sign_in(NEW, NEW_PASSWORD)
    browser.wait_route("/settings")  # an Auditor's first screen
    browser.sign_out()


def test_add_user_without_a_password_says_an_invitation_is_sent(
    domain: PortalServer, browser: Browser
) -> None:
    users_screen(browser, ADMIN)
    browser.click("link", "Add user")
    browser.wait_route("/users/new")
    browser.screen("32-add-user")
    browser.type("Email", f"oscar@{DOMAIN}")
    browser.click("button", "Add user")
    browser.wait_text("An invitation mail with a link to choose a password is on its way.")
    browser.type("Search", f"oscar@{DOMAIN}", submit=True)
    browser.wait_text("1 user.")
    browser.click("link", "Add user")
    browser.type("Email", f"oscar@{DOMAIN}")  # taken: the server's refusal, on the field
    browser.click("button", "Add user")
    browser.wait(lambda: browser.field("Email").get_attribute("aria-invalid") == "true" or None)


def test_edit_roles_but_never_ones_own(domain: PortalServer, browser: Browser) -> None:
    users_screen(browser, ADMIN)
    pick(browser, ERIN, "Edit")
    browser.wait_route(f"/users/edit?id={row_of_id(domain, ERIN)}")
    browser.wait_text(f"Edit {ERIN}")
    browser.type("Name", "Erin Edited")
    browser.pointer_click(browser.role("checkbox", "Security Administrator"))
    browser.screen("33-edit-user")
    browser.click("button", "Save changes")
    browser.wait_text(f"The changes to {ERIN} are saved.")
    row = row_of(browser, ERIN)
    assert "Erin Edited" in row.text and "User, Security Administrator" in row.text
    pick(browser, ADMIN, "Edit")
    browser.wait_text("You cannot change your own roles")
    boxes = browser.driver.find_elements(By.CSS_SELECTOR, "fieldset input[type=checkbox]")
    assert boxes and all(not box.is_enabled() for box in boxes)


def row_of_id(portal: PortalServer, email: str) -> str:
    data = portal.graphql(
        "query($q: String!) { users(first: 5, filter: {search: $q}) "
        "{ edges { node { id email } } } }",
        {"q": email},
        token=portal.token(ADMIN),
    )
    edges = data["users"]["edges"]  # type: ignore[index]
    (user_id,) = [e["node"]["id"] for e in edges if e["node"]["email"] == email]
    return str(user_id)


def test_deactivate_ends_sign_in_and_sessions_then_reactivate(
    domain: PortalServer, browser: Browser
) -> None:
    token = domain.token(ERIN)
    users_screen(browser, ADMIN)
    pick(browser, ERIN, "Deactivate")
    browser.role("dialog", f"Deactivate {ERIN}?")
    browser.screen("34-deactivate-dialog")
    confirm(browser, f"Deactivate {ERIN}?", "Deactivate")
    browser.wait_text(f"{ERIN} is deactivated.")
    assert cell(browser, ERIN, "user-status").text.startswith("Deactivated")
    assert login_status(domain, ERIN) == "INVALID_CREDENTIALS"
    assert not session_works(domain, token)
    browser.sign_out()
    browser.sign_in(ERIN, PASSWORD)
    browser.wait_text("Enter a correct email and password.")
    users_screen(browser, ADMIN)
    Select(browser.field("Status")).select_by_visible_text("Deactivated")
    browser.click("button", "Apply filters")
    browser.wait_text("1 user.")
    browser.screen("35-users-deactivated")
    items = open_actions(browser, ERIN)
    assert "Reactivate" in items and "Deactivate" not in items
    browser.click("menuitem", "Reactivate")
    browser.wait_text(f"{ERIN} is active again and can sign in.")
    assert cell(browser, ERIN, "user-status").text.startswith("Active")
    assert login_status(domain, ERIN) == "AUTHENTICATED"


def test_the_last_security_administrator_cannot_be_deactivated(
    domain: PortalServer, browser: Browser
) -> None:
    # Erin was made a Security Administrator above: take it back so secadmin is the last one.
    domain.graphql(
        "mutation($id: ID!) { updateUser(userId: $id, input: {roles: [USER]}) { id } }",
        {"id": row_of_id(domain, ERIN)},
        token=domain.token(ADMIN),
    )
    users_screen(browser, ADMIN)
    pick(browser, SECURITY, "Deactivate")
    confirm(browser, f"Deactivate {SECURITY}?", "Deactivate")
    browser.wait(
        lambda: browser.driver.find_elements(By.CSS_SELECTOR, ".banner--error") or None,
        what="the refusal",
    )
    assert SECURITY in browser.driver.find_element(By.CSS_SELECTOR, ".banner--error").text
    assert cell(browser, SECURITY, "user-status").text.startswith("Active")
    assert login_status(domain, SECURITY) == "AUTHENTICATED"


def test_unlock_sign_in_after_ten_failed_sign_ins(domain: PortalServer, browser: Browser) -> None:
    for _ in range(10):
        assert login_status(domain, FRANK, "not-the-password") == "INVALID_CREDENTIALS"
    assert login_status(domain, FRANK) == "TOO_MANY_ATTEMPTS"
    users_screen(browser, ADMIN)
    assert "Sign-in locked until" in cell(browser, FRANK, "user-status").text
    assert "Unlock sign-in" not in open_actions(browser, LENA)
    close_menu(browser)
    pick(browser, FRANK, "Unlock sign-in")
    browser.wait_text(f"Sign-in is unlocked for {FRANK}")
    assert "locked" not in cell(browser, FRANK, "user-status").text
    assert login_status(domain, FRANK) == "AUTHENTICATED"


CSV = (
    "email,display_name,roles\n"
    f"ivy@{DOMAIN},Ivy Import,USER\n"
    f"kim@{DOMAIN},Kim Wrong,WIZARD\n"
    f"jay@{DOMAIN},Jay Import,USER;AUDITOR\n"
    f"{LENA},Lena Import,USER\n"
)


def counts(browser: Browser) -> dict[str, int]:
    items = browser.driver.find_elements(
        By.CSS_SELECTOR, "[data-testid='import-counts'] [data-outcome]"
    )
    return {
        str(item.get_attribute("data-outcome")): int(str(item.get_attribute("data-count")))
        for item in items
    }


def refused_lines(browser: Browser) -> list[list[str]]:
    rows = browser.driver.find_elements(By.CSS_SELECTOR, "[data-testid='import-errors'] tr")
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def test_import_a_csv_file_preview_then_import(
    domain: PortalServer, browser: Browser, tmp_path: Path
) -> None:
    upload = tmp_path / "people.csv"
    upload.write_text(CSV, encoding="utf-8")
    users_screen(browser, ADMIN)
    browser.click("link", "Import CSV")
    browser.wait_route("/users/import")
    browser.wait_text("email,display_name,roles")
    browser.screen("36-import")
    browser.type("Or paste the lines", "name,mail\nx,y\n")  # a wrong header: the whole file
    browser.click("button", "Preview")
    browser.wait(
        lambda: browser.field("Or paste the lines").get_attribute("aria-invalid") == "true" or None,
        what="the whole-file error on the field",
    )
    browser.field("Or paste the lines").clear()
    browser.field("CSV file").send_keys(str(upload))
    browser.click("button", "Preview")
    browser.wait_text("Nothing is changed yet", timeout=60)
    assert counts(browser) == {"created": 2, "updated": 1, "unchanged": 0, "refused": 1}
    ((line, email, reason),) = refused_lines(browser)
    assert (line, email) == ("3", f"kim@{DOMAIN}") and reason
    browser.screen("37-import-preview")
    assert login_status(domain, f"ivy@{DOMAIN}") == "INVALID_CREDENTIALS"  # a dry run
    browser.click("button", "Import")
    bar = browser.role("progressbar", "Import progress", timeout=30)
    browser.wait(lambda: bar.get_attribute("aria-valuenow") == "100" or None, timeout=120)
    browser.wait_text("Finished:", timeout=60)
    assert counts(browser) == {"created": 2, "updated": 1, "unchanged": 0, "refused": 1}
    assert [row[0] for row in refused_lines(browser)] == ["3"]
    assert "Two-factor authentication is enabled" not in browser.text()  # not ticked
    browser.screen("38-import-done")
    navigate(browser, "Users", "/users")
    browser.type("Search", "Import", submit=True)
    browser.wait_text("3 users.")
    assert "Lena Import" in row_of(browser, LENA).text
    assert "User, Auditor" in row_of(browser, f"jay@{DOMAIN}").text
    browser.type("Search", "kim@", submit=True)
    browser.wait_text("No users match.")


def scim_status(portal: PortalServer, token: str) -> int:
    response = httpx.get(
        f"{portal.origin}/scim/v2/Users",
        params={"filter": f'userName eq "{ERIN}"'},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/scim+json"},
        timeout=30,
    )
    if response.status_code == 200:
        body = response.json()
        assert body["totalResults"] == 1 and body["Resources"][0]["userName"] == ERIN, body
    return response.status_code


def test_a_scim_token_works_until_it_is_revoked(domain: PortalServer, browser: Browser) -> None:
    browser.sign_in(ADMIN, PASSWORD)
    browser.wait_route("/settings")
    browser.click("link", "Provisioning")
    browser.wait_route("/settings/provisioning")
    base = browser.field("SCIM base URL")
    assert base.get_attribute("value") == f"{domain.origin}/scim/v2"
    browser.click("button", "Copy the SCIM base URL")
    browser.wait(
        lambda: (
            "Copied: the SCIM base URL." in browser.text()
            or "Copying is not allowed here" in browser.text()
            or None
        ),
        what="what Copy did",
    )
    browser.wait_text("No token yet.")
    browser.type("Label", "Okta")
    browser.click("button", "Create token")
    browser.wait_text("The token “Okta” is created. Copy it now")
    token = str(browser.field("New token").get_attribute("value"))
    assert len(token) >= 32
    row = browser.driver.find_element(By.CSS_SELECTOR, "[data-testid='scim-tokens'] tr")
    assert "Okta" in row.text and ADMIN in row.text and "Never" in row.text
    browser.screen("39-provisioning-token")
    assert scim_status(domain, token) == 200
    browser.open("/#/settings")
    browser.click("link", "Provisioning")
    browser.wait(lambda: "Never" not in first_token_row(browser).text or None, what="last used")
    assert browser.absent("textbox", "New token")  # shown once
    browser.click("button", "Revoke Okta")
    confirm(browser, "Revoke the token “Okta”?", "Revoke")
    browser.wait_text("The token “Okta” is revoked.")
    assert "Revoked" in first_token_row(browser).text
    assert browser.absent("button", "Revoke Okta")
    browser.screen("40-provisioning-revoked")
    assert scim_status(domain, token) == 401


def first_token_row(browser: Browser) -> WebElement:
    row: WebElement = browser.driver.find_element(By.CSS_SELECTOR, "[data-testid='scim-tokens'] tr")
    return row


# -- My account: Password and Sessions ------------------------------------------------


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


def test_an_import_still_running_is_shown_again_with_cancel(
    portal: PortalServer, browser: Browser
) -> None:
    """The import goes on when its screen is left; coming back shows it (a domain of its
    own: 100,000 rows take seconds, and this one is cancelled half way)."""
    other = "reattach.example"
    admin = f"admin@{other}"
    portal.cli("create-domain", other)
    portal.create_user(other, admin, "SYSTEM_ADMIN", "USER")
    csv = "email,display_name,roles\n" + "".join(
        f"bulk-{number:06d}@{other},Person {number},USER\n" for number in range(100_000)
    )
    started = httpx.post(
        f"{portal.origin}/graphql/import",
        json={
            "query": "mutation($csv: String!) { importUsers(csv: $csv) { id status } }",
            "variables": {"csv": csv},
        },
        headers={"Authorization": f"Bearer {portal.token(admin)}"},
        timeout=60,
    ).json()
    assert started["data"]["importUsers"]["status"] in ("QUEUED", "RUNNING"), started
    users_screen(browser, admin)
    browser.click("link", "Import CSV")
    browser.wait_route("/users/import")
    browser.wait_text(f"An import started by {admin} is still running", timeout=30)
    bar = browser.role("progressbar", "Import progress", timeout=30)
    assert int(str(bar.get_attribute("aria-valuenow"))) < 100
    browser.screen("38b-import-running")
    browser.click("button", "Cancel")
    browser.wait_text("Cancelled:", timeout=60)
    done = browser.wait(lambda: counts(browser) or None, what="the import's counts")
    assert done["created"] < 100_000


def test_a_domain_of_100000_users_from_a_csv_file_with_2fa_in_one_flow(
    portal: PortalServer, browser: Browser, tmp_path: Path
) -> None:
    """Issue 14's "done when": the file chosen in Users -> Import CSV, Enable two-factor
    authentication ticked, Import; every user created, invited and pending enrollment."""
    other = "rollout.example"
    admin = f"admin@{other}"
    portal.cli("create-domain", other)
    portal.create_user(other, admin, "SYSTEM_ADMIN", "SECURITY_ADMIN", "USER")
    token = portal.token(admin)
    portal.graphql(
        "mutation { setDomainTwoFactor(enabled: true) { twoFactorEnabled } }", token=token
    )
    upload = tmp_path / "everyone.csv"
    upload.write_text(
        "email,display_name,roles\n"
        + "".join(f"p-{number:06d}@{other},Person {number},USER\n" for number in range(100_000)),
        encoding="utf-8",
    )
    users_screen(browser, admin)
    browser.click("link", "Import CSV")
    browser.wait_route("/users/import")
    browser.field("CSV file").send_keys(str(upload))
    browser.click(
        "checkbox",
        "Enable two-factor authentication for every imported user (when Enable 2FA is on)",
    )
    browser.click("button", "Import")
    browser.wait_text("Finished: 100,000 of 100,000 lines done.", timeout=300)
    done = browser.wait(lambda: counts(browser) or None, what="the import's counts")
    assert done == {"created": 100_000, "updated": 0, "unchanged": 0, "refused": 0}
    browser.wait_text("Two-factor authentication is enabled for every active imported user")
    browser.screen("38c-import-100000")
    pending = portal.graphql(
        "{ users(filter: {twoFactorState: PENDING_ENROLLMENT}) { totalCount } }", token=token
    )
    assert pending["users"]["totalCount"] == 100_000  # type: ignore[index]
