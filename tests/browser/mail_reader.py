"""Run with a portal server's environment (its database, its encryption key) by
tests/browser/link_mail.py: invite a user with the project's own call, or print the text of
a user's newest mail of a kind, rendered by the code the delivery uses (decrypt + render).
It imports nothing of the tests: their settings would replace the server's."""

import asyncio
import sys

from tortoise.transactions import in_transaction

from gql_portal.accounts.links import invite_users
from gql_portal.accounts.models import User
from gql_portal.db import close_db, init_db
from gql_portal.notifications.messages import render
from gql_portal.notifications.models import Notification
from gql_portal.settings import get_settings


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


if __name__ == "__main__":
    asyncio.run(_main(*sys.argv[1:4]))
