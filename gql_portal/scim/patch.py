"""PATCH (RFC 7644 section 3.5.2) as scim2-server does it: the stored user as a SCIM
resource, the operations applied to it by scim2-models, and the result read back like a
PUT body. The library resolves paths (with and without `path`, value filters such as
`emails[type eq "work"].value`), refuses read-only attributes (mutability) and unknown ones
(invalidPath), and reads Entra's string booleans ("False") as booleans.
"""

from typing import Any

from scim2_models import Context, PatchOp
from scim2_models import User as ScimUser


def patched(resource: ScimUser[Any], body: dict[str, Any]) -> ScimUser[Any]:
    """``resource`` with the operations of ``body`` applied (a copy: the caller compares)."""
    operations = PatchOp[type(resource)].model_validate(  # type: ignore[misc]
        body, scim_ctx=Context.RESOURCE_PATCH_REQUEST
    )
    changed = resource.model_copy(deep=True)
    operations.patch(changed)
    return changed
