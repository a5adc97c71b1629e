"""The mail as its reader gets it: the portal server's delivery writes every message to the
Maildir under its data folder (no SMTP configured), and the test opens the newest one to the
user, as a mail reader would, to follow its link. Invitations come from createUser."""

import mailbox
import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import httpx

from tests.browser.driver import wait_until
from tests.browser.portal_server import PASSWORD, PortalServer

LINK = re.compile(r"#/set-password\?token=[A-Za-z0-9_%-]+")
LOGIN = 'mutation($p: String!) { login(email: "sysadmin@demo.example", password: $p) { token } }'
CREATE_USER = "mutation($email: String!) { createUser(input: {email: $email}) { id } }"


def invite(server: PortalServer, email: str) -> None:
    """The demo's SYSTEM_ADMIN creates the user without a password (createUser over HTTP)."""
    with httpx.Client(base_url=server.origin, timeout=30) as http:
        login = http.post("/graphql", json={"query": LOGIN, "variables": {"p": PASSWORD}})
        token = login.json()["data"]["login"]["token"]
        created = http.post(
            "/graphql",
            json={"query": CREATE_USER, "variables": {"email": email}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.json().get("data", {}).get("createUser"), created.text


def _mails_to(server: PortalServer, email: str, subject: str) -> list[EmailMessage]:
    """Oldest first: a Maildir file's name starts with its delivery time (microseconds)."""
    folder = server.folder / "data" / "mail"
    if not (folder / "new").is_dir():
        return []
    found = []
    for key, message in sorted(mailbox.Maildir(folder, create=False).items()):
        parsed = message_from_bytes(message.as_bytes(), policy=default)
        assert isinstance(parsed, EmailMessage), key
        if email in str(parsed["To"]) and subject in str(parsed["Subject"]):
            found.append(parsed)
    return found


def mailed_link(server: PortalServer, email: str, subject: str, *, count: int = 1) -> str:
    """The portal path of the link in the ``count``-th mail to ``email`` whose subject holds
    ``subject`` (waiting for the delivery to write it); the mail names the public URL."""
    wait_until(lambda: len(_mails_to(server, email, subject)) >= count, timeout=30)
    mail = _mails_to(server, email, subject)[count - 1]
    body = mail.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found is not None, body.get_content()
    return "/" + found.group()
