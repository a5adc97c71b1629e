"""The arq worker: ``gql-portal worker`` runs ``WorkerSettings``."""

from typing import Any, ClassVar

from arq.connections import RedisSettings
from arq.cron import cron

from gql_portal.accounts.throttle import purge_login_throttles
from gql_portal.db import close_db, init_db
from gql_portal.settings import get_settings
from workers.audit import AUDIT_CRON_JOBS
from workers.bulk import BULK_CRON_JOBS, BULK_FUNCTIONS
from workers.mail import start_mail_delivery, stop_mail_delivery
from workers.notifications import NOTIFICATION_CRON_JOBS


async def health(ctx: dict[str, Any]) -> str:
    return "ok"


async def purge_throttles(ctx: dict[str, Any]) -> None:
    await purge_login_throttles()


async def startup(ctx: dict[str, Any]) -> None:
    await init_db(get_settings())
    await start_mail_delivery(ctx)


async def shutdown(ctx: dict[str, Any]) -> None:
    await stop_mail_delivery(ctx)
    await close_db()


def redis_settings() -> RedisSettings:
    url = get_settings().redis_url
    if url is None:
        raise RuntimeError("GQL_PORTAL_REDIS_URL is not set: the worker needs Redis")
    return RedisSettings.from_dsn(url)


class WorkerSettings:
    functions: ClassVar[list[Any]] = [health, *BULK_FUNCTIONS]
    cron_jobs: ClassVar[list[Any]] = [
        *BULK_CRON_JOBS,
        *AUDIT_CRON_JOBS,
        *NOTIFICATION_CRON_JOBS,
        cron(purge_throttles, second={30}, timeout=300),  # expired login throttles, each minute
    ]
    on_startup = startup
    on_shutdown = shutdown
    queue_name = "gql_portal"
    max_tries = 5
    health_check_interval = 10
    # An admin watches a bulk job start: pick it up within 0.1 s, not arq's default 0.5 s.
    poll_delay = 0.1
