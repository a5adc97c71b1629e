"""A user's newest invitation or reset mail as its reader sees it: the row read from the
portal server's own database and rendered by the code the delivery uses (decrypt + render),
and invitations made with the project's own call. It runs as a process with the server's
environment (its database, its encryption key): ``python -m tests.browser.link_mail``."""

import asyncio
import re
import subprocess
import sys

from tortoise.transactions import in_transaction

from gql_portal.accounts.links import invite_users
from gql_portal.accounts.models import User
from gql_portal.db import close_db, init_db
from gql_portal.notifications.messages import render
from gql_portal.notifications.models import Notification
from gql_portal.settings import get_settings
from tests.browser.portal_server import PortalServer

LINK = re.compile(r"#/set-password\?token=[A-Za-z0-9_%-]+")


async def _invite(email: str) -> None:
    """The user loses their password (as if created without one) and is invited."""
    async with in_transaction() as connection:
        user = await User.get(email_normalized=email).using_db(connection)
        await User.filter(id=user.id).using_db(connection).update(password_hash="")
        assert await invite_users([user.id], using_db=connection) == 1


async def _mail_text(email: str, kind: str) -> str:
    notification = await Notification.filter(recipient=email, kind=kind).order_by("-id").first()
    assert notification is not None, f"no {kind} mail for {email}"
    return render(notification).text


async def _main(command: str, email: str, kind: str) -> None:
    await init_db(get_settings())
    try:
        if command == "invite":
            await _invite(email)
        else:
            print(await _mail_text(email, kind))
    finally:
        await close_db()


def invite(server: PortalServer, email: str) -> None:
    _run(server, "invite", email, "INVITATION")


def mailed_link(server: PortalServer, email: str, kind: str) -> str:
    """The portal path of the link in the mail (the mail names the configured public URL)."""
    text = _run(server, "read", email, kind)
    found = LINK.search(text)
    assert found is not None, text
    return "/" + found.group()


def _run(server: PortalServer, command: str, email: str, kind: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tests.browser.link_mail", command, email, kind],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


if __name__ == "__main__":
    asyncio.run(_main(*sys.argv[1:4]))
