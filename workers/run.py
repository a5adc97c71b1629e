import asyncio
import os

from arq.worker import async_check_health, get_kwargs

from gql_portal.logs import configure_logging
from gql_portal.metrics import forget_process
from gql_portal.notifications.transport import check_mail_settings
from gql_portal.settings import get_settings
from workers.resilient import ResilientWorker
from workers.settings import WorkerSettings, redis_settings


def run_worker(*, check: bool = False) -> int:
    settings = redis_settings()
    if check:
        return asyncio.run(async_check_health(settings, queue_name=WorkerSettings.queue_name))
    check_mail_settings(get_settings())  # one line, like the API's start
    configure_logging()  # JSON lines, like the API; arq alone logs nothing below WARNING
    kwargs = get_kwargs(WorkerSettings)  # type: ignore[arg-type]
    worker = ResilientWorker(**{**kwargs, "redis_settings": settings})
    try:
        worker.run()
    finally:
        forget_process(os.getpid())  # its bulk-job gauges leave the API's merged /metrics
    return 0
