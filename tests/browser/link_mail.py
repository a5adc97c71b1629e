"""The mail as its reader gets it: the portal server's delivery writes every message to the
Maildir under its data folder (no SMTP configured), and the test opens the newest one to the
user, as a mail reader would, to follow its link."""

import mailbox
import re
import subprocess
import sys
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from tests.browser.driver import wait_until
from tests.browser.portal_server import PortalServer

LINK = re.compile(r"#/set-password\?token=[A-Za-z0-9_%-]+")


def invite(server: PortalServer, email: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.browser.invite_user", email],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


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
