"""Invite a user of a portal server with the project's own call (invite_users), run as a
process with the server's environment (its database, its key) by tests/browser/link_mail.py.
It imports nothing of the tests: their settings would replace the server's."""

import asyncio
import sys

from tortoise.transactions import in_transaction

from gql_portal.accounts.links import invite_users
from gql_portal.accounts.models import User
from gql_portal.db import close_db, init_db
from gql_portal.settings import get_settings


async def _invite(email: str) -> None:
    """The user loses their password (as if created without one) and is invited."""
    await init_db(get_settings())
    try:
        async with in_transaction() as connection:
            user = await User.get(email_normalized=email).using_db(connection)
            await User.filter(id=user.id).using_db(connection).update(password_hash="")
            assert await invite_users([user.id], using_db=connection) == 1
    finally:
        await close_db()


if __name__ == "__main__":
    asyncio.run(_invite(sys.argv[1]))
