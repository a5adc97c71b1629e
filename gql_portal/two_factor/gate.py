"""Who must pass which step: derived from stored state at every request, never cached."""

from datetime import datetime
from enum import StrEnum

from gql_portal.accounts.models import PasswordSecurityRules, Session, User


class LoginStatus(StrEnum):
    AUTHENTICATED = "AUTHENTICATED"
    TOTP_REQUIRED = "TOTP_REQUIRED"
    ENROLLMENT_REQUIRED = "ENROLLMENT_REQUIRED"


class TwoFactorState(StrEnum):
    NOT_AVAILABLE = "NOT_AVAILABLE"
    DISABLED = "DISABLED"
    PENDING_ENROLLMENT = "PENDING_ENROLLMENT"
    ENROLLED = "ENROLLED"


def two_factor_state(rules: PasswordSecurityRules, user: User, enrolled: bool) -> TwoFactorState:
    if not rules.two_factor_enabled:
        return TwoFactorState.NOT_AVAILABLE
    if not user.two_factor_enabled:
        return TwoFactorState.DISABLED
    return TwoFactorState.ENROLLED if enrolled else TwoFactorState.PENDING_ENROLLMENT


def required_step(
    rules: PasswordSecurityRules, user: User, enrolled: bool, now: datetime
) -> LoginStatus:
    """The step a session that has not passed the second factor must take now."""
    if not (rules.two_factor_enabled and user.two_factor_enabled):
        return LoginStatus.AUTHENTICATED
    if enrolled:
        return LoginStatus.TOTP_REQUIRED
    if user.enrollment_deadline is not None and user.enrollment_deadline > now:
        return LoginStatus.AUTHENTICATED
    return LoginStatus.ENROLLMENT_REQUIRED


def pending_step(enrolled: bool) -> LoginStatus:
    return LoginStatus.TOTP_REQUIRED if enrolled else LoginStatus.ENROLLMENT_REQUIRED


def session_status(
    session: Session, rules: PasswordSecurityRules, user: User, enrolled: bool, now: datetime
) -> LoginStatus:
    if session.issued_pending:
        # Issued pending by login: stays pending for its whole life, whatever changes.
        return pending_step(enrolled)
    if session.second_factor_at is not None:
        return LoginStatus.AUTHENTICATED
    return required_step(rules, user, enrolled, now)


def enrollment_deadline_shown(
    rules: PasswordSecurityRules, user: User, enrolled: bool, now: datetime
) -> datetime | None:
    """The deadline while a grace period runs for a user who still has to enroll."""
    if (
        rules.two_factor_enabled
        and user.two_factor_enabled
        and not enrolled
        and user.enrollment_deadline is not None
        and user.enrollment_deadline > now
    ):
        return user.enrollment_deadline
    return None
