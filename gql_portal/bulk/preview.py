"""What a dry run shows before a job starts: whether it selects the viewer, and a few users.

Read with the condition a job applies, against the domain's current rules, so the preview
cannot disagree with what a job started now would select."""

from gql_portal.accounts.models import PasswordSecurityRules, User
from gql_portal.bulk.models import BulkJob
from gql_portal.bulk.selection import UserSelection, selection_condition

SAMPLE_SIZE = 5


async def selection_includes(job: BulkJob, rules: PasswordSecurityRules, user_id: int) -> bool:
    selection = UserSelection.from_json(job.user_filter)
    condition = selection_condition(job.domain_id, selection, rules)
    return await User.filter(condition, id=user_id).exists()


async def selection_sample(job: BulkJob, rules: PasswordSecurityRules) -> list[User]:
    selection = UserSelection.from_json(job.user_filter)
    condition = selection_condition(job.domain_id, selection, rules)
    return await User.filter(condition).order_by("id").limit(SAMPLE_SIZE)
