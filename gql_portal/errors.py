"""Errors that services raise; each carries the contract's ``extensions.code``."""

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    TWO_FACTOR_NOT_AVAILABLE = "TWO_FACTOR_NOT_AVAILABLE"
    TWO_FACTOR_REQUIRED = "TWO_FACTOR_REQUIRED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_CODE = "INVALID_CODE"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    JOB_CONFLICT = "JOB_CONFLICT"
    QUEUE_UNAVAILABLE = "QUEUE_UNAVAILABLE"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class PortalError(Exception):
    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR
    default_message = "Internal server error"

    def __init__(self, message: str | None = None, **extensions: Any) -> None:
        self.message = message or self.default_message
        self.extensions = extensions
        super().__init__(self.message)


class UnauthenticatedError(PortalError):
    code = ErrorCode.UNAUTHENTICATED
    default_message = "Authentication required"


class ForbiddenError(PortalError):
    code = ErrorCode.FORBIDDEN
    default_message = "You are not allowed to do this"


class NotFoundError(PortalError):
    code = ErrorCode.NOT_FOUND
    default_message = "Not found"


class BadUserInputError(PortalError):
    code = ErrorCode.BAD_USER_INPUT
    default_message = "Invalid input"


class TwoFactorNotAvailableError(PortalError):
    code = ErrorCode.TWO_FACTOR_NOT_AVAILABLE
    default_message = "Two-Factor Authentication not available"


class TwoFactorRequiredError(PortalError):
    code = ErrorCode.TWO_FACTOR_REQUIRED
    default_message = "Complete two-factor authentication first"


class InvalidCredentialsError(PortalError):
    code = ErrorCode.INVALID_CREDENTIALS
    default_message = "Invalid email or password"


class InvalidCodeError(PortalError):
    code = ErrorCode.INVALID_CODE
    default_message = "Invalid code"


class TooManyAttemptsError(PortalError):
    code = ErrorCode.TOO_MANY_ATTEMPTS
    default_message = "Too many attempts, try again later"

    def __init__(self, retry_after: int | None, message: str | None = None) -> None:
        if retry_after is None:
            super().__init__(message or "Locked: an administrator must reset two-factor")
        else:
            super().__init__(message, retryAfter=max(1, retry_after))


class JobConflictError(PortalError):
    code = ErrorCode.JOB_CONFLICT
    default_message = "Another bulk job is already running for this domain"


class QueueUnavailableError(PortalError):
    code = ErrorCode.QUEUE_UNAVAILABLE
    default_message = "The job queue is unavailable, try again later"


class ServiceUnavailableError(PortalError):
    """A dependency (the database, a statement past its deadline) cannot serve now."""

    code = ErrorCode.SERVICE_UNAVAILABLE
    default_message = "The service is temporarily unavailable, try again shortly"

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message, retryAfter=max(1, retry_after))
