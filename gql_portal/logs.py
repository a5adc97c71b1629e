"""JSON log lines, each with the id of the request that caused it."""

import json
import logging
from contextvars import ContextVar
from typing import Any

from gql_portal.settings import get_settings

# Set by EdgeMiddleware for the life of one request; tasks started inside inherit it.
REQUEST_ID: ContextVar[str | None] = ContextVar("gql_portal_request_id", default=None)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


class QueryStringFilter(logging.Filter):
    """uvicorn's access line names the full URL: a query string may carry a document with a
    password or a code (a refused GET mutation still reaches the log). Keep the path only."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, mark, _ = args[2].partition("?")
            if mark:
                record.args = (*args[:2], path + "?[redacted]", *args[3:])
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def json_handler(stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging() -> None:
    root = logging.getLogger()
    root.handlers[:] = [json_handler()]
    root.setLevel(get_settings().log_level.upper())
    # uvicorn's own loggers keep their handlers otherwise: make every line JSON.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QueryStringFilter) for f in access.filters):
        access.addFilter(QueryStringFilter())
