"""Mail delivery throughput: 10,000 queued messages delivered by the outbox's sender
(claim, render, build, send, mark; ``MAIL_RATE`` unlimited) against a bare aiosmtplib loop
sending the same messages, already built, over one connection, to the same local aiosmtpd
(a process of its own, discarding what it receives).

    python -m bench.mail_delivery --db both --messages 10000

Prints both rates and the ratio (ours / bare); the goal is >= 0.5x.
"""

import asyncio
import subprocess
import sys
import time
from typing import Any

from bench.harness import ROOT, backends, bench_database, free_port, parser, run_with_orm


async def _wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def _measure(port: int, messages: int) -> dict[str, float]:
    import aiosmtplib
    from tortoise.transactions import in_transaction

    from gql_portal.clock import utcnow
    from gql_portal.notifications.delivery import (
        RateLimiter,
        build_message,
        deliver_batch,
    )
    from gql_portal.notifications.messages import render
    from gql_portal.notifications.models import Notification, NotificationKind
    from gql_portal.notifications.outbox import Recipient, enqueue_each
    from gql_portal.notifications.transport import envelope_sender, transport_for
    from gql_portal.settings import Settings

    settings = Settings(smtp_url=f"smtp://127.0.0.1:{port}", mail_rate=0)
    items = [Recipient(1, None, f"user{i}@example.com", {}) for i in range(messages)]
    async with in_transaction() as connection:
        await enqueue_each(NotificationKind.PASSWORD_CHANGED, items=items, using_db=connection)
    # The baseline's messages: the same rows, rendered and built before its clock starts.
    rows = await Notification.all().order_by("id")
    built = [
        (build_message(row, render(row), settings, now=utcnow()), row.recipient) for row in rows
    ]

    await _wait_for_port(port)
    transport, limiter = transport_for(settings), RateLimiter(0)
    started = time.perf_counter()
    while (await deliver_batch(transport, settings, limiter)).claimed:
        pass
    ours = time.perf_counter() - started
    assert await Notification.filter(status="SENT").count() == messages

    sender = envelope_sender(settings)
    started = time.perf_counter()
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
        for message, recipient in built:
            await smtp.send_message(message, sender=sender, recipients=[recipient])
    bare = time.perf_counter() - started
    return {"ours_seconds": ours, "bare_seconds": bare}


def run(kind: str, messages: int) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with bench_database(kind, "mail") as db:
            times = run_with_orm(db, lambda: _measure(port, messages))
    finally:
        server.terminate()
        server.wait(timeout=10)
    ours = messages / times["ours_seconds"]
    bare = messages / times["bare_seconds"]
    return {
        "db": kind,
        "messages": messages,
        "ours_rate": ours,
        "bare_rate": bare,
        "ratio": ours / bare,
    }


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__)
    args.add_argument("--messages", type=int, default=10_000)
    options = args.parse_args(argv)
    for kind in backends(options.db):
        result = run(kind, options.messages)
        print(
            f"mail_delivery {result['db']:8} {result['messages']:,} messages: outbox "
            f"{result['ours_rate']:.0f}/s, bare aiosmtplib loop {result['bare_rate']:.0f}/s, "
            f"ratio {result['ratio']:.2f}x (goal >= 0.5x)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
