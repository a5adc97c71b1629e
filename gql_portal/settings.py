import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GQL_PORTAL_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str | None = None
    redis_url: str | None = None
    encryption_keys: str | None = Field(default=None, repr=False)

    totp_issuer: str = "gql_portal"
    session_idle_minutes: int = Field(default=30, ge=1)
    session_lifetime_hours: int = Field(default=12, ge=1)
    pending_session_minutes: int = Field(default=10, ge=1)
    enrollment_ttl_minutes: int = Field(default=10, ge=1)

    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19_456, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)
    # One core is left to the event loop: hashing threads beyond that only steal its time.
    password_hash_threads: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) - 1), ge=1
    )

    trusted_proxies: str = ""
    # Browser clients (CONTRACT section 9): other-origin frontends allowed by CORS (bearer
    # only), and the origin the portal is served from when the Host header cannot tell.
    cors_origins: str = ""
    public_origin: str | None = None
    bulk_chunk_size: int = Field(default=1000, ge=1, le=10_000)  # bound parameters per statement
    # A QUEUED/RUNNING bulk job whose heartbeat is this old has lost its runner: resume it.
    bulk_stale_seconds: float = Field(default=60, gt=0)
    # An arq job works this long, then requeues itself (arq's job timeout must stay above it).
    bulk_slice_seconds: float = Field(default=120, gt=0)

    # importUsers documents and import files: 100,000 rows of about 100 bytes need ~10 MB,
    # far above max_body_bytes, so POST /graphql/import takes bodies up to this size.
    import_max_bytes: int = Field(default=20_000_000, ge=1024)

    max_query_depth: int = Field(default=12, ge=1)
    max_aliases: int = Field(default=30, ge=1)
    max_tokens: int = Field(default=2000, ge=10)
    max_body_bytes: int = Field(default=100_000, ge=1024)
    max_field_repeats: int = Field(default=3, ge=1)
    max_directives: int = Field(default=4, ge=1)
    # Static cost before execution (api/cost.py): a list costs its `first` (default 50) times
    # its selection, objects 1. The largest real page (500 audit events with actor and target,
    # each with domain and twoFactor) costs 5,001; 5 aliased users pages of 500 cost 10,005.
    max_query_cost: int = Field(default=8_000, ge=1)
    # Every API statement: PostgreSQL statement_timeout, SQLite a progress-handler deadline.
    statement_timeout_seconds: float = Field(default=5.0, gt=0)
    # The HTTP fast path and the executor's short paths (api/fast_path.py); off, strawberry's
    # view and graphql-core's executor answer everything.
    fast_path: bool = True

    # HTTP edge (applied by `gql-portal serve`).
    max_header_bytes: int = Field(default=16_384, ge=1024)
    max_header_count: int = Field(default=100, ge=8)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    max_connections: int = Field(default=1000, ge=1)

    # Failed logins from one client IP, counted in the database (password spraying).
    login_ip_max_failures: int = Field(default=100, ge=1)
    login_ip_window_minutes: int = Field(default=10, ge=1)
    # Logins waiting for a hashing thread beyond this answer TOO_MANY_ATTEMPTS at once.
    password_hash_queue: int = Field(default=32, ge=1)

    # SCIM list pages (RFC 7644 3.4.2.4): the count when a client names none, and the most
    # one page returns (a larger count gets this many).
    scim_default_count: int = Field(default=100, ge=1, le=10_000)
    scim_max_count: int = Field(default=1000, ge=1, le=10_000)

    log_level: str = "INFO"

    # Mail (CONTRACT section 11, gql_portal/notifications/). smtp_url holds the password:
    # repr=False, and nothing logs it. Without it, mail goes to the Maildir data_dir/mail.
    smtp_url: str | None = Field(default=None, repr=False)
    mail_from: str = "gql_portal <no-reply@localhost>"
    public_url: str = "http://127.0.0.1:8000"  # the portal's address, in the links of messages
    mail_rate: float = Field(default=50, ge=0)  # messages per second and sender; 0 = unlimited
    mail_batch_size: int = Field(default=100, ge=1, le=1000)  # claimed, sent, marked together
    # A sender's claim on its batch: a killed sender's messages go out again after it.
    mail_lease_seconds: float = Field(default=60, gt=0)
    mail_retry_seconds: float = Field(default=30, gt=0)  # first back-off; doubles up to 1 h
    smtp_timeout_seconds: float = Field(default=10, gt=0)

    @field_validator("database_url", "redis_url", "encryption_keys", "public_origin", "smtp_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gql_portal.sqlite3').resolve()}"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [item.strip() for item in self.trusted_proxies.split(",") if item.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        return [item.strip() for item in self.cors_origins.split(",") if item.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
