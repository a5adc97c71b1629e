"""What a dry run shows before a job starts: whether it selects the viewer, and a few users."""

import asyncio
from dataclasses import dataclass

from gql_portal.accounts.models import PasswordSecurityRules, User
from gql_portal.bulk.selection import UserSelection, selection_condition

SAMPLE_SIZE = 5


@dataclass(frozen=True, slots=True)
class SelectionPreview:
    includes_viewer: bool
    sample: list[User]


async def preview_selection(
    *, domain_id: int, selection: UserSelection, viewer_id: int
) -> SelectionPreview:
    """Read with the same condition the job applies, so the preview cannot disagree with it."""
    rules = await PasswordSecurityRules.get(domain_id=domain_id)
    condition = selection_condition(domain_id, selection, rules)
    includes_viewer, sample = await asyncio.gather(
        User.filter(condition, id=viewer_id).exists(),
        User.filter(condition).order_by("id").limit(SAMPLE_SIZE),
    )
    return SelectionPreview(includes_viewer=includes_viewer, sample=list(sample))
