"""How many values one request's variables may hold.

graphql-core coerces every value on the event loop before any resolver runs (6,000 enum
values cost ~80 ms). A request without a signed-in viewer reaches only operations with a
few scalar arguments; a signed-in one at most the bulk filter's 10,000 user ids.
"""

ANONYMOUS_MAX_VALUES = 100
SIGNED_IN_MAX_VALUES = 20_000


def count_values(value: object, limit: int) -> int:
    """The values in decoded JSON (containers included), counted up to just past ``limit``."""
    pending = [value]
    count = 0
    while pending and count <= limit:
        item = pending.pop()
        count += 1
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count


def variables_problem(variables: object, *, signed_in: bool) -> str | None:
    limit = SIGNED_IN_MAX_VALUES if signed_in else ANONYMOUS_MAX_VALUES
    if variables and count_values(variables, limit) > limit:
        who = "" if signed_in else " without a signed-in viewer"
        return f"The variables of a request{who} may hold at most {limit} values"
    return None
