"""What the link tests share: the token as the mail carries it, and the documents."""

from tortoise.transactions import in_transaction

from gql_portal.accounts.links import LinkRecipient, create_links
from gql_portal.accounts.models import AccountLinkPurpose, User
from gql_portal.crypto import decrypt_secret
from gql_portal.notifications.models import Notification

SET_PASSWORD = (
    "mutation($token: String!, $password: String!)"
    " { setPassword(token: $token, password: $password) }"
)
REQUEST_RESET = "mutation($email: String!) { requestPasswordReset(email: $email) }"
NEW_PASSWORD = "a-brand-new-password"


async def mailed_token(user: User, kind: str) -> str:
    """The raw token of the user's newest notification of ``kind``, decrypted as the
    delivery decrypts it."""
    notification = await Notification.filter(user_id=user.id, kind=kind).order_by("-id").first()
    assert notification is not None, f"no {kind} notification for {user.email}"
    return decrypt_secret(notification.params["token"])


async def new_link(user: User, purpose: AccountLinkPurpose) -> str:
    """A link made the way the mutations make them; its token read back from the mail."""
    async with in_transaction() as connection:
        await create_links(
            [LinkRecipient(user.id, user.domain_id, user.email, user.display_name)],
            purpose,
            using_db=connection,
        )
    return await mailed_token(user, purpose.value)
