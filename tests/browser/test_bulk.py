"""Bulk enablement in Chromium on a domain of 20,000 users (`gql-portal demo --users 20000`,
set-based inserts): Preview says whether the selection includes the viewer and counts it,
Start runs the job, and the progress bar fed by the subscription reaches 100%.

The viewer is a Security Administrator without the USER role, so a selection of USERs
leaves their own session alone (a selection that includes them makes them set up 2FA at
their next request, subscription included)."""

import re
import time
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By

from tests.browser.driver import Browser
from tests.browser.portal_server import PASSWORD, PortalServer
from tests.browser.story import navigate

ADMIN = "bulkadmin@demo.example"
GENERATED = 20_000


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalServer]:
    server = PortalServer(tmp_path_factory.mktemp("bulk"))
    try:
        server.cli("demo", "--users", str(GENERATED))
        server.create_user("demo.example", ADMIN, "SECURITY_ADMIN")
        yield server.start()
    finally:
        server.stop()


def users_without_2fa(portal: PortalServer) -> int:
    data = portal.graphql(
        "{ domain { twoFactorStats { users enabled } } }", token=portal.token(ADMIN)
    )["domain"]
    assert isinstance(data, dict)
    return int(data["twoFactorStats"]["users"]) - int(data["twoFactorStats"]["enabled"])


def test_the_progress_bar_reaches_100_percent_on_20000_users(
    portal: PortalServer, browser: Browser
) -> None:
    assert users_without_2fa(portal) >= GENERATED
    browser.sign_in(ADMIN, PASSWORD)
    navigate(browser, "Bulk enablement", "/bulk")
    browser.screen("20-bulk")
    browser.click("button", "Preview")
    browser.wait_text("The selection includes you")
    browser.pointer_click(browser.role("checkbox", "User"))
    browser.click("button", "Preview")
    browser.wait_text("The selection does not include you.")
    total = browser.wait(
        lambda: re.search(r"\b(\d+) users selected", browser.text()), what="the dry run's count"
    )
    assert GENERATED < int(total.group(1)) < GENERATED + 10, total.group(0)
    browser.screen("21-bulk-preview")
    browser.click("button", "Start")
    bar = browser.wait(
        lambda: next((bar for bar in browser.driver.find_elements(
            By.CSS_SELECTOR, "[role=progressbar], progress") if bar.is_displayed()), None),
        timeout=30, what="the progress bar",
    )  # fmt: skip
    seen: list[float] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        now = float(bar.get_attribute("aria-valuenow") or bar.get_attribute("value") or 0)
        if not seen or seen[-1] != now:
            seen.append(now)
        if now >= 100:
            break
        time.sleep(0.1)
    assert seen[-1] == 100, seen
    assert seen == sorted(seen), f"the bar went backwards: {seen}"
    browser.screen("22-bulk-done")
    assert users_without_2fa(portal) == 2  # the auditor and the viewer: not USERs
