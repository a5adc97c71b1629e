"""Prometheus metrics any module may import; every label has a small, fixed set of values."""

import os
from functools import lru_cache
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "gql_portal_http_requests_total",
    "HTTP requests by route, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "gql_portal_http_request_duration_seconds",
    "HTTP request latency by route.",
    ["route", "method"],
)
GRAPHQL_OPERATIONS = Counter(
    "gql_portal_graphql_operations_total",
    "Root fields executed, by field and outcome (OK or the error code); "
    'refused documents count as operation="(refused)".',
    ["operation", "outcome"],
)
GRAPHQL_LATENCY = Histogram(
    "gql_portal_graphql_duration_seconds",
    "GraphQL operation latency by operation type.",
    ["operation_type"],
)
LOGINS = Counter(
    "gql_portal_logins_total",
    "login answers: AUTHENTICATED, TOTP_REQUIRED, ENROLLMENT_REQUIRED or the error code.",
    ["outcome"],
)
VERIFICATIONS = Counter(
    "gql_portal_second_factor_total",
    "Second-factor checks by operation and outcome (OK or the error code).",
    ["operation", "outcome"],
)
LOCKOUTS = Counter(
    "gql_portal_lockouts_total", "Locks that started, by kind (totp, password).", ["kind"]
)
LOGIN_FAILURES_UNAUDITED = Counter(
    "gql_portal_login_failures_unaudited_total",
    "Refused logins that write no audit row, by reason: unknown_email (no domain's analysts "
    "could read it), locked (after the lock window's one event), ip_limit, hashing_queue_full.",
    ["reason"],
)
PASSWORD_VERIFICATIONS = Counter(
    "gql_portal_password_verifications_total",
    "argon2 verifications run (a login runs the same number whatever its email names).",
)
BULK_JOB_PROGRESS = Gauge(
    "gql_portal_bulk_job_progress_ratio",
    "Progress (0..1) of running bulk jobs; clear_bulk_job() drops a finished job.",
    ["job_id"],
    multiprocess_mode="livemax",
)
WORKERS_ALIVE = Gauge(
    "gql_portal_workers_alive",
    "gql-portal worker processes with a live heartbeat in Redis, counted at each scrape "
    "(0 while Redis does not answer).",
    multiprocess_mode="mostrecent",
)
BULK_JOB_USERS = Counter(
    "gql_portal_bulk_job_users_total", "Users handled by bulk jobs, by result.", ["result"]
)
NOTIFICATIONS_ENQUEUED = Counter(
    "gql_portal_notifications_enqueued_total",
    "Messages written to the outbox, by kind (in the transaction of their change).",
    ["kind"],
)
NOTIFICATIONS_SENT = Counter(
    "gql_portal_notifications_sent_total", "Messages the mail server (or the Maildir) accepted."
)
NOTIFICATIONS_RETRIED = Counter(
    "gql_portal_notifications_retried_total",
    "Failed delivery attempts that were rescheduled with back-off.",
)
NOTIFICATIONS_FAILED = Counter(
    "gql_portal_notifications_failed_total",
    "Messages given up on: FAILED after 24 h of attempts, or refused for good.",
)
NOTIFICATIONS_QUEUED = Gauge(
    "gql_portal_notifications_queued",
    "Messages waiting in the outbox (QUEUED), counted at each scrape.",
    multiprocess_mode="mostrecent",
)
NOTIFICATIONS_BACKLOG_AGE = Gauge(
    "gql_portal_notifications_backlog_age_seconds",
    "Age of the oldest QUEUED message that is due, at each scrape (0: nothing is waiting).",
    multiprocess_mode="mostrecent",
)


@lru_cache(maxsize=4096)
def child(metric: Counter | Histogram, *labels: str) -> Any:
    """A counter's or histogram's labelled child, looked up once: labels() takes a lock and
    builds its key on every call, and requests count several times each. (Not for the
    bulk-job gauge, whose children are removed.)"""
    return metric.labels(*labels)


def record_lockout(kind: str) -> None:
    LOCKOUTS.labels(kind=kind).inc()


def set_bulk_job_progress(job_id: object, processed: int, total: int) -> None:
    BULK_JOB_PROGRESS.labels(job_id=str(job_id)).set(processed / total if total else 1.0)


def clear_bulk_job(job_id: object) -> None:
    try:
        BULK_JOB_PROGRESS.remove(str(job_id))
    except KeyError:
        pass


def forget_process(pid: int) -> None:
    """A process that ended: its live gauges (bulk job progress) leave the merged view."""
    if os.environ.get(MULTIPROC_DIR):
        mark_process_dead(pid)  # type: ignore[no-untyped-call]


def exposition() -> tuple[bytes, str]:
    """The text format; under several server processes, merged from PROMETHEUS_MULTIPROC_DIR."""
    if os.environ.get(MULTIPROC_DIR):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
