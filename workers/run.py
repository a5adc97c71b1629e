import asyncio

from arq import run_worker as arq_run_worker
from arq.worker import async_check_health

from workers.settings import WorkerSettings, redis_settings


def run_worker(*, check: bool = False) -> int:
    settings = redis_settings()
    if check:
        return asyncio.run(async_check_health(settings, queue_name=WorkerSettings.queue_name))
    arq_run_worker(WorkerSettings, redis_settings=settings)  # type: ignore[arg-type]
    return 0
