"""Exit 0 when PostgreSQL and Redis both answer (used by ``make test``)."""

import asyncio
import sys
from urllib.parse import urlparse


async def _answers(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=2)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def main(urls: list[str]) -> int:
    for url in urls:
        parsed = urlparse(url.replace("{}", "x"))
        if not await _answers(parsed.hostname or "127.0.0.1", parsed.port or 0):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
