"""Which workers are alive: each ``gql-portal worker`` keeps a Redis key with a TTL.

A key per worker (not arq's single health-check key) so the API can count them with SCAN;
a worker that dies without cleaning up drops out when its key expires.
"""

from redis.asyncio import Redis

KEY_PREFIX = "gql_portal:worker:"
BEAT_SECONDS = 5.0
# Three missed beats: a worker busy on a slow Redis round trip is not counted dead.
TTL_SECONDS = 15


def worker_key(worker_id: str) -> str:
    return KEY_PREFIX + worker_id


async def beat(redis: Redis, worker_id: str, info: str) -> None:
    await redis.set(worker_key(worker_id), info, ex=TTL_SECONDS)


async def forget(redis: Redis, worker_id: str) -> None:
    await redis.delete(worker_key(worker_id))


async def count_alive(redis: Redis) -> int:
    alive = 0
    async for _ in redis.scan_iter(match=KEY_PREFIX + "*", count=500):
        alive += 1
    return alive
