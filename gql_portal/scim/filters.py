"""A SCIM filter (RFC 7644 section 3.4.2.2) as a condition on the users table.

scim2-models parses the expression; this module walks its tree and allows only the
attributes and operators an index serves, each one a column of ``users u`` compared to a
bound parameter: a value never becomes SQL text, only the column names and operators
written here do. The caller always ANDs the token's domain outside the whole condition, so
no `or` reaches another domain.

The condition is SQL written here rather than the ORM's Q: a userName lookup is the
identity providers' most frequent request, and building the ORM's statement cost more than
running it (bench/scim.py).
"""

from dataclasses import dataclass

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from gql_portal.accounts.validation import MAX_EMAIL_LENGTH, normalize_email
from gql_portal.inputs import int_id, text_problem
from gql_portal.scim.resources import USER_SCHEMA

# Identity providers send one or two comparisons; these bound the statement's size.
MAX_FILTER_LENGTH = 1000
MAX_COMPARISONS = 20

_EQ = frozenset({CompareOperator.eq})
_TEXT = frozenset({CompareOperator.eq, CompareOperator.sw, CompareOperator.co})
# SCIM name (lower case, RFC 7643 names are case-insensitive) -> the operators allowed.
_ALLOWED = {
    "id": _EQ,
    "username": _TEXT,
    "emails.value": _EQ,
    "active": _EQ,
    "externalid": _EQ,
}


# The names as RFC 7643 spells them, for the messages.
_SPELLED = {"id": "id", "username": "userName", "emails.value": "emails.value",
            "active": "active", "externalid": "externalId"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Condition:
    """SQL over ``users u`` with ``?`` placeholders, and their values in order."""

    sql: str
    values: tuple[object, ...] = ()


# A comparison no row satisfies (an id no row can have): never a statement error.
_NOTHING = Condition("1 = 0")


def _like(column: str, pattern: str) -> Condition:
    """``%`` and ``_`` in the value are themselves, not wildcards."""
    return Condition(f"{column} LIKE ? ESCAPE '\\'", (pattern,))


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _name(path: AttrPath, prefix: str | None = None) -> str:
    if path.uri is not None and path.uri.lower() != USER_SCHEMA.lower():
        raise InvalidFilterException(detail=f"{path} is not an attribute of {USER_SCHEMA}")
    parts = [part for part in (prefix, path.attr, path.sub_attr) if part]
    name = ".".join(parts).lower()
    # `emails eq "x"` compares the multi-valued attribute's value (RFC 7644 3.4.2.2).
    return "emails.value" if name == "emails" else name


def _text_value(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidFilterException(detail=f"{name} compares to a string")
    if text_problem(value) is not None or len(value) > MAX_EMAIL_LENGTH * 2:
        raise InvalidFilterException(detail=f"{name} compares to text that cannot be stored")
    return value


def _comparison(name: str, op: CompareOperator, value: object) -> Condition:
    allowed = _ALLOWED.get(name)
    if allowed is None:
        raise InvalidFilterException(
            detail=f"filtering on {name!r} is not supported (userName, emails.value, "
            "active, externalId, id)"
        )
    if op not in allowed:
        raise InvalidFilterException(
            detail=f"{_SPELLED[name]} supports only {', '.join(sorted(allowed))}"
        )
    if name == "active":
        if not isinstance(value, bool):
            raise InvalidFilterException(detail="active compares to true or false")
        return Condition("u.active = ?", (value,))
    text = _text_value(name, value)
    if name == "id":
        user_id = int_id(text)
        return Condition("u.id = ?", (user_id,)) if user_id is not None else _NOTHING
    if name == "externalid":
        # caseExact (RFC 7643 4.1.1). Never NULL, so `not (externalId eq "x")` includes
        # the users without one.
        return Condition("(u.external_id IS NOT NULL AND u.external_id = ?)", (text,))
    # userName and emails.value are the portal email: case-insensitive, stored normalised.
    email = normalize_email(text)
    if op is CompareOperator.sw:
        return _like("u.email_normalized", _escaped(email) + "%")
    if op is CompareOperator.co:
        return _like("u.email_normalized", "%" + _escaped(email) + "%")
    return Condition("u.email_normalized = ?", (email,))


class _UserCondition(FilterVisitor[Condition]):
    def __init__(self) -> None:
        self.comparisons = 0

    def _count(self) -> None:
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise InvalidFilterException(
                detail=f"a filter has at most {MAX_COMPARISONS} comparisons"
            )

    def visit_comparison(self, node: Comparison, prefix: str | None = None) -> Condition:
        self._count()
        return _comparison(_name(node.attr_path, prefix), node.op, node.value)

    def visit_present(self, node: Present) -> Condition:
        raise InvalidFilterException(detail="the pr operator is not supported")

    def visit_not(self, node: Not) -> Condition:
        inner = self.visit(node.expr)
        return Condition(f"NOT ({inner.sql})", inner.values)

    def visit_logical_expr(self, node: LogicalExpr) -> Condition:
        terms = [self.visit(term) for term in node.terms]
        joiner = " AND " if node.op is LogicalOperator.and_ else " OR "
        return Condition(
            "(" + joiner.join(term.sql for term in terms) + ")",
            tuple(value for term in terms for value in term.values),
        )

    def visit_value_path(self, node: ValuePath) -> Condition:
        # emails[value eq "x"]: only the email's value can be selected on.
        inner = node.val_filter
        if not isinstance(inner, Comparison) or _name(node.attr_path) != "emails.value":
            raise InvalidFilterException(detail='only emails[value eq "..."] is supported')
        return self.visit_comparison(inner, prefix=node.attr_path.attr)


def user_condition(expression: str) -> Condition:
    """The condition ``expression`` puts on users; InvalidFilterException (400
    invalidFilter) for a filter that does not parse or names what is not supported."""
    if len(expression) > MAX_FILTER_LENGTH:
        raise InvalidFilterException(
            detail=f"a filter is at most {MAX_FILTER_LENGTH} characters long"
        )
    if text_problem(expression) is not None:
        raise InvalidFilterException(detail="the filter holds characters that cannot be read")
    return _UserCondition().visit(ScimFilter(expression).ast)
