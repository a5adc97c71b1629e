"""A user's newest invitation or reset mail as its reader sees it, read from the portal
server's own database (tests/browser/mail_reader.py, in a process with the server's
environment), and invitations made with the project's own call."""

import re
import subprocess
import sys

from tests.browser.portal_server import PortalServer

LINK = re.compile(r"#/set-password\?token=[A-Za-z0-9_%-]+")


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
        [sys.executable, "-m", "tests.browser.mail_reader", command, email, kind],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
