"""User import: a 100,000-row CSV through importUsers' job (parsed, stored, applied by the
worker: arq + ``gql-portal worker``), against raw set-based SQL on the same database in the
same run. Two floors, both one INSERT per 10,000 rows in one transaction, with no parsing,
no checks and no per-row outcome:

- "same rows": every row the import leaves behind: the users, their USER_CREATED events
  (with the import's details: the CSV line, the roles, the invitation),
  their invitation links (a token each, stored as its SHA-256) and the invitation mails in
  the outbox (the token encrypted, as the import writes them). The goal (within 3x) is
  read against this one.
- "users + events": the users and their events only (no invitations).

    python -m bench.import_users --db both --rows 100000 [--redis redis://127.0.0.1:6379/11]

Without a Redis that answers, the job runs through the in-process runner instead. The
worker sends the invitations to a local SMTP sink while it imports, as it would in
production.
"""

import json
import secrets
import sys
import time
import uuid
from typing import Any

from bench.harness import (
    DEFAULT_REDIS,
    backends,
    bench_database,
    bench_worker,
    parser,
    run_with_orm,
    timed_job,
    usable_redis,
)
from bench.seed import make_domain

BATCH = 10_000


def _csv(domain: str, rows: int) -> str:
    return "email,display_name,roles\n" + "".join(
        f"user-{number:06d}@{domain},Person {number},USER\n" for number in range(rows)
    )


async def _raw_set_based(domain_id: int, domain: str, rows: int, invitations: bool) -> float:
    """The floor: the rows as JSON, one INSERT per 10,000 users (and, with ``invitations``,
    one INSERT ... SELECT of their links and one of their mails), then one INSERT ... SELECT
    of the events, in one transaction."""
    from tortoise.transactions import in_transaction

    from gql_portal.accounts.links import LIFETIMES, hash_link_token
    from gql_portal.accounts.models import AccountLinkPurpose
    from gql_portal.clock import utcnow
    from gql_portal.crypto import encrypt_secret
    from gql_portal.notifications.models import NotificationKind, NotificationStatus
    from gql_portal.sql import execute, is_postgres, json_records

    columns = (("email", "text"), ("email_normalized", "text"), ("display_name", "text"))
    invited = (
        ("email_normalized", "text"),
        ("token_hash", "text"),
        ("params", "jsonb"),
    )
    purpose = AccountLinkPurpose.INVITATION
    now = utcnow()
    expires_at = now + LIFETIMES[purpose]
    job_id = uuid.uuid4()
    started = time.perf_counter()
    async with in_transaction() as connection:
        postgres = is_postgres(connection)
        for start in range(0, rows, BATCH):
            batch = [
                {
                    "email": f"user-{number:06d}@{domain}",
                    "email_normalized": f"user-{number:06d}@{domain}",
                    "display_name": f"Person {number}",
                }
                for number in range(start, min(rows, start + BATCH))
            ]
            await execute(
                connection,
                "INSERT INTO users (domain_id, email, email_normalized, display_name, roles, "
                "password_hash, created_at, active, two_factor_enabled, code_failures) "
                "SELECT ?, r.email, r.email_normalized, r.display_name, ',USER,', '', ?, ?, ?, 0 "
                f"FROM {json_records(connection, columns)}",
                [domain_id, now, True, False, json.dumps(batch)],
            )
            if not invitations:
                continue
            tokens = [secrets.token_urlsafe(32) for _ in batch]
            links = [
                {
                    "email_normalized": user["email_normalized"],
                    "token_hash": hash_link_token(token),
                    "params": {
                        "token": encrypt_secret(token),
                        "expiresAt": expires_at.isoformat(),
                        "displayName": user["display_name"],
                    },
                }
                for user, token in zip(batch, tokens, strict=True)
            ]
            records = json.dumps(links)
            joined = (
                # CROSS JOIN: SQLite walks the JSON rows and looks each user up by index.
                f"FROM {json_records(connection, invited)} CROSS JOIN users u "
                "WHERE u.domain_id = ? AND u.email_normalized = r.email_normalized"
            )
            await execute(
                connection,
                "INSERT INTO account_links (user_id, purpose, token_hash, created_at, expires_at) "
                f"SELECT u.id, ?, r.token_hash, ?, ? {joined}",
                [purpose.value, now, expires_at, records, domain_id],
            )
            await execute(
                connection,
                "INSERT INTO notifications (domain_id, user_id, recipient, kind, status, "
                "attempts, next_attempt_at, params, created_at, job_id) "
                f"SELECT u.domain_id, u.id, u.email, ?, ?, 0, ?, r.params, ?, ? {joined}",
                [
                    NotificationKind.INVITATION.value,
                    NotificationStatus.QUEUED.value,
                    now,
                    now,
                    job_id if postgres else str(job_id),
                    records,
                    domain_id,
                ],
            )
        # The import's details: its CSV line (the users' ids are consecutive), the roles
        # given and the invitation.
        line = "id - (SELECT MIN(id) FROM users WHERE domain_id = ?) + 2"
        details = (
            f"jsonb_build_object('via', 'import', 'line', {line}, "
            "'roles', jsonb_build_array('USER'), 'invited', true)"
            if postgres
            else f"json_object('via', 'import', 'line', {line}, "
            "'roles', json_array('USER'), 'invited', json('true'))"
        )
        await execute(
            connection,
            "INSERT INTO audit_events (domain_id, occurred_at, action, outcome, target_id, "
            f"target_email, job_id, details) SELECT domain_id, ?, 'USER_CREATED', 'SUCCESS', "
            f"id, email, ?, {details} FROM users WHERE domain_id = ?",
            [now, job_id if postgres else str(job_id), domain_id, domain_id],
        )
    return time.perf_counter() - started


async def _through_runner(domain_id: int, csv: str, redis_url: str | None) -> float:
    from gql_portal.bulk.imports import start_import
    from gql_portal.request_meta import SYSTEM

    def start(dispatcher: Any) -> Any:
        return start_import(
            actor=None,
            domain_id=domain_id,
            csv_text=csv,
            dry_run=False,
            enable_two_factor=False,
            meta=SYSTEM,
            dispatcher=dispatcher,
        )

    took, job = await timed_job(start, redis_url)
    if job.created != job.total:
        raise RuntimeError(f"the import created {job.created} of {job.total} users")
    return float(took)


async def _left_behind(domain_id: int) -> dict[str, Any]:
    """What an import left in the domain, to check the floor wrote the same rows."""
    from gql_portal.accounts.models import AccountLink, User
    from gql_portal.audit.models import AuditEvent
    from gql_portal.notifications.models import Notification

    events = AuditEvent.filter(domain_id=domain_id, action="USER_CREATED")
    last = await events.order_by("-id").first()
    return {
        "last_event_details": last.details if last else None,
        "users": await User.filter(domain_id=domain_id).count(),
        "events": await AuditEvent.filter(domain_id=domain_id, action="USER_CREATED").count(),
        "links": await AccountLink.filter(user__domain_id=domain_id).count(),
        "mails": await Notification.filter(domain_id=domain_id, kind="INVITATION").count(),
    }


def run(kind: str, rows: int, redis_url: str | None) -> dict[str, Any]:
    with bench_database(kind, "import") as db:

        async def seed() -> tuple[int, int, int]:
            job = await make_domain("import-job.example")
            same = await make_domain("import-same.example")
            bare = await make_domain("import-bare.example")
            return job.id, same.id, bare.id

        job_domain, same_domain, bare_domain = run_with_orm(db, seed)
        csv = _csv("import-job.example", rows)
        redis_url = usable_redis(redis_url)
        with bench_worker(db, redis_url):
            through = run_with_orm(db, lambda: _through_runner(job_domain, csv, redis_url))
        same = run_with_orm(
            db, lambda: _raw_set_based(same_domain, "import-same.example", rows, True)
        )
        bare = run_with_orm(
            db, lambda: _raw_set_based(bare_domain, "import-bare.example", rows, False)
        )
        left = run_with_orm(db, lambda: _left_behind(job_domain))
        floor = run_with_orm(db, lambda: _left_behind(same_domain))
        if left != floor or left["users"] != rows:
            raise RuntimeError(f"the import left {left}, the floor {floor}")
        return {
            "db": kind,
            "rows": rows,
            "path": "arq worker" if redis_url else "in-process runner",
            "job_seconds": round(through, 3),
            "same_rows_seconds": round(same, 3),
            "users_events_seconds": round(bare, 3),
            "ratio": round(through / same, 2),
            "ratio_users_events": round(through / bare, 2),
        }


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__)
    args.add_argument("--rows", type=int, default=100_000)
    args.add_argument("--redis", default=DEFAULT_REDIS, help="'' for the in-process runner")
    options = args.parse_args(argv)
    results = []
    for kind in backends(options.db):
        result = run(kind, options.rows, options.redis or None)
        results.append(result)
        print(
            f"import_users {result['db']:8} {result['rows']:,} rows via {result['path']}: "
            f"job {result['job_seconds']:.2f}s; raw SQL of the same rows "
            f"{result['same_rows_seconds']:.2f}s, ratio {result['ratio']:.2f}x (goal <= 3x); "
            f"raw SQL of users + events only {result['users_events_seconds']:.2f}s, "
            f"ratio {result['ratio_users_events']:.2f}x",
            flush=True,
        )
    if options.json_out:
        with open(options.json_out, "w") as out:
            json.dump(results, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
