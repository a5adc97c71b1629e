"""The enterprise extension (RFC 7643 section 4.3): accepted, and not stored.

Entra ID sends it by default (employeeNumber, department, manager...) and the portal has no
column for any of it, so it is taken out of a request before scim2-models reads the rest:
what is not stored is not checked either. Entra's manager is a plain string
(`"value": "<objectId>"`, not RFC 7643's complex `{"value", "$ref"}`), which the library
rightly refuses: without this, every Entra user with a manager mapped failed to provision.
"""

from typing import Any

from scim2_models import EnterpriseUser

ENTERPRISE = str(EnterpriseUser.__schema__).lower()


def _enterprise(name: object) -> bool:
    return isinstance(name, str) and name.strip().lower().startswith(ENTERPRISE)


def resource_without_extension(body: dict[str, Any]) -> dict[str, Any]:
    """A POST or PUT body (or a path-less PATCH value) without the extension's attributes
    (its URN in ``schemas`` may stay: a resource may name an extension it has nothing of)."""
    return {key: item for key, item in body.items() if not _enterprise(key)}


def patch_without_extension(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The PATCH without its operations on the extension (a ``path`` in it, or the
    extension's keys in a path-less value), and whether anything is left to apply. A body
    the library must refuse (no list of operations, an operation that is no object) is
    returned as it is."""
    operations = body.get("Operations")
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        return body, True
    kept = []
    for operation in operations:
        path = operation.get("path")
        if _enterprise(path):
            continue
        if path is None and isinstance(operation.get("value"), dict):
            value = resource_without_extension(operation["value"])
            if not value and operation["value"]:
                continue  # the value held the extension only
            operation = {**operation, "value": value}
        kept.append(operation)
    return {**body, "Operations": kept}, bool(kept) or not operations
