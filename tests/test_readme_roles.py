"""The README's roles table says what the code's role checks say."""

import re
from pathlib import Path

from gql_portal.accounts import authorization
from gql_portal.accounts.models import Role

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
COLUMNS = [Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR]
# require_role(actor, SECURITY_ADMINS, operation="enableUserTwoFactor", ...)
CHECK = re.compile(r"require_role\(\s*[\w.]+,\s*(\w+),\s*operation=(\"\w+\"|\w+)")
# Operations whose role set or name is chosen at run time, as the code chooses them.
DYNAMIC = {
    ("allowed", '"setDomainTwoFactor"'): {
        "setDomainTwoFactor(enabled: true)": authorization.SECURITY_ADMINS,
        "setDomainTwoFactor(enabled: false)": authorization.DOMAIN_ADMINS,
    },
    ("SECURITY_ADMINS", "OPERATION_START"): {
        "startBulkTwoFactorEnablement": authorization.SECURITY_ADMINS
    },
    ("READERS", '"auditExport"'): {"GET /audit/export": authorization.READERS},
}


def _code() -> dict[str, frozenset[Role]]:
    checks: dict[str, frozenset[Role]] = {}
    for path in (ROOT / "gql_portal").rglob("*.py"):
        for roles_name, operation in CHECK.findall(path.read_text()):
            if (roles_name, operation) in DYNAMIC:
                checks.update(DYNAMIC[(roles_name, operation)])
                continue
            if operation == "info.field_name":  # api/permissions.py: the generic check
                continue
            checks[operation.strip('"')] = getattr(authorization, roles_name)
    return checks


def _readme() -> dict[str, frozenset[Role]]:
    section = README.split("\n### Roles\n", 1)[1].split("\n### ", 1)[0]
    rows: dict[str, frozenset[Role]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) != 4:
            continue
        roles = frozenset(
            role for role, cell in zip(COLUMNS, cells[1:], strict=True) if cell == "yes"
        )
        for operation in re.findall(r"`([^`]+)`", cells[0]):
            rows[operation] = roles
    return rows


def test_the_roles_table_matches_the_role_checks() -> None:
    rules = (ROOT / "gql_portal" / "rules" / "services.py").read_text()
    assert "allowed = SECURITY_ADMINS if enabled else DOMAIN_ADMINS" in rules  # DYNAMIC's
    code, readme = _code(), _readme()
    assert len(code) >= 15
    assert readme == code, {
        name: (readme.get(name), code.get(name))
        for name in code.keys() | readme.keys()
        if readme.get(name) != code.get(name)
    }
