"""Shared steps for the two-factor suite: GraphQL documents, logins and enrollment."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gql_portal import clock
from gql_portal.accounts.models import Domain, Role, User
from gql_portal.two_factor import totp
from tests.factories import PASSWORD, code_for, make_user, secret_from_uri
from tests.graphql import LOGIN, GraphQLClient, Result

PAYLOAD = "status token expiresAt enrollmentDeadline recoveryCodes user { id }"
BEGIN = "mutation { beginTotpEnrollment { secret otpauthUri qrCodeSvg qrCodePng expiresAt } }"
CONFIRM = f"mutation($code: String!) {{ confirmTotpEnrollment(code: $code) {{ {PAYLOAD} }} }}"
VERIFY = f"mutation($code: String!) {{ verifyTotp(code: $code) {{ {PAYLOAD} }} }}"
VERIFY_RECOVERY = f"mutation($code: String!) {{ verifyRecoveryCode(code: $code) {{ {PAYLOAD} }} }}"
REGENERATE = "mutation($code: String!) { regenerateRecoveryCodes(code: $code) }"
LOGOUT = "mutation { logout }"
TWO_FACTOR_FIELDS = (
    "state available enabled enrolled enrolledAt enrollmentDeadline "
    "recoveryCodesRemaining lockedUntil"
)
ME = f"{{ me {{ id email twoFactor {{ {TWO_FACTOR_FIELDS} }} }} }}"
USER = f"query($id: ID!) {{ user(id: $id) {{ id email twoFactor {{ {TWO_FACTOR_FIELDS} }} }} }}"
USERS = "{ users { edges { node { id email } } } }"
DOMAIN = "{ domain { id name passwordSecurityRules { twoFactorEnabled } } }"
STATS = "{ domain { twoFactorStats { users enabled enrolled pendingEnrollment lockedOut } } }"
SET_SWITCH = (
    "mutation($enabled: Boolean!) { setDomainTwoFactor(enabled: $enabled) "
    "{ twoFactorEnabled enrollmentGracePeriodHours } }"
)
UPDATE_RULES = (
    "mutation($input: PasswordSecurityRulesInput!) { updatePasswordSecurityRules(input: $input) "
    "{ twoFactorEnabled enrollmentGracePeriodHours minPasswordLength } }"
)

# Not six ASCII digits: full-width digits (pyotp would NFKC them into a match), short,
# long, spaced, letters, empty.
MALFORMED_CODES = [
    "\uff11\uff12\uff13\uff14\uff15\uff16",
    "12345",
    "1234567",
    "123 456",
    " 123456",
    "12345a",
    "abcdef",
    "",
]


def _admin_user_mutation(field: str) -> str:
    selection = f"{{ id twoFactor {{ {TWO_FACTOR_FIELDS} }} }}"
    return f"mutation($id: ID!) {{ {field}(userId: $id) {selection} }}"


ENABLE_USER = _admin_user_mutation("enableUserTwoFactor")
DISABLE_USER = _admin_user_mutation("disableUserTwoFactor")
RESET_USER = _admin_user_mutation("resetUserTwoFactor")


@dataclass(frozen=True)
class Enrolled:
    token: str
    secret: str
    recovery_codes: list[str]
    enrollment: dict[str, Any]


def align_to_step_start() -> None:
    """Move the clock to 1 s into a fresh 30 s step, so a test never straddles a boundary."""
    now = clock.utcnow()
    into_step = now.timestamp() % totp.STEP_SECONDS
    clock.travel(timedelta(seconds=totp.STEP_SECONDS - into_step + 1))


def next_step() -> None:
    clock.travel(timedelta(seconds=totp.STEP_SECONDS))


async def login(client: GraphQLClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    return await client.login(email, password)


async def try_login(client: GraphQLClient, email: str, password: str = PASSWORD) -> Result:
    return await client.execute(LOGIN, {"email": email, "password": password})


async def admin_token(
    client: GraphQLClient, domain: Domain, roles: list[Role] | None = None
) -> tuple[User, str]:
    """An AUTHENTICATED admin (2FA not enabled for them) of ``domain``."""
    admin = await make_user(domain, roles=roles or [Role.SECURITY_ADMIN])
    payload = await login(client, admin.email)
    assert payload["status"] == "AUTHENTICATED", payload
    return admin, payload["token"]


async def begin(client: GraphQLClient, token: str) -> dict[str, Any]:
    return (await client.execute(BEGIN, token=token)).ok()["beginTotpEnrollment"]


async def enroll_with_token(client: GraphQLClient, token: str) -> Enrolled:
    enrollment = await begin(client, token)
    secret = secret_from_uri(enrollment["otpauthUri"])
    result = await client.execute(CONFIRM, {"code": code_for(secret)}, token=token)
    payload = result.ok()["confirmTotpEnrollment"]
    assert payload["status"] == "AUTHENTICATED"
    return Enrolled(payload["token"], secret, payload["recoveryCodes"], enrollment)


async def enroll(client: GraphQLClient, email: str) -> Enrolled:
    """Login (ENROLLMENT_REQUIRED), begin and confirm with the current step's code."""
    payload = await login(client, email)
    assert payload["status"] == "ENROLLMENT_REQUIRED", payload
    return await enroll_with_token(client, payload["token"])


async def enrolled_user(
    client: GraphQLClient, domain: Domain, roles: list[Role] | None = None
) -> tuple[User, Enrolled]:
    user = await make_user(domain, roles=roles, two_factor_enabled=True)
    return user, await enroll(client, user.email)


async def pending_totp_token(client: GraphQLClient, email: str) -> str:
    payload = await login(client, email)
    assert payload["status"] == "TOTP_REQUIRED", payload
    token: str = payload["token"]
    return token


async def verify(client: GraphQLClient, token: str, code: str) -> Result:
    return await client.execute(VERIFY, {"code": code}, token=token)


async def me(client: GraphQLClient, token: str) -> Result:
    return await client.execute(ME, token=token)


async def reload(user: User) -> User:
    return await User.get(id=user.id)


def wrong_code(secret: str) -> str:
    """A well-formed code that matches none of the accepted steps around now."""
    step = totp.time_step(clock.utcnow())
    taken = {totp.code_at_step(secret, s) for s in range(step - 2, step + 3)}
    candidate = 0
    while f"{candidate:06d}" in taken:
        candidate += 1
    return f"{candidate:06d}"
