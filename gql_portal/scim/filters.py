"""A SCIM filter (RFC 7644 section 3.4.2.2) as a condition on the users table.

scim2-models parses the expression; this module walks its tree and allows only the
attributes and operators an index serves, each one a column compared to a bound parameter
(the ORM's Q): a value never becomes SQL text. The caller always ANDs the token's domain
outside the whole condition, so no `or` reaches another domain.
"""

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
from tortoise.expressions import Q

from gql_portal.accounts.validation import MAX_EMAIL_LENGTH, normalize_email
from gql_portal.inputs import int_id, text_problem

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
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


def _comparison(name: str, op: CompareOperator, value: object) -> Q:
    allowed = _ALLOWED.get(name)
    if allowed is None:
        raise InvalidFilterException(
            detail=f"filtering on {name!r} is not supported (userName, emails.value, "
            "active, externalId, id)"
        )
    if op not in allowed:
        raise InvalidFilterException(detail=f"{name} supports only {', '.join(sorted(allowed))}")
    if name == "active":
        if not isinstance(value, bool):
            raise InvalidFilterException(detail="active compares to true or false")
        return Q(active=value)
    text = _text_value(name, value)
    if name == "id":
        user_id = int_id(text)
        # An id no row can have matches nothing (never a statement error).
        return Q(id=user_id) if user_id is not None else Q(id__isnull=True)
    if name == "externalid":
        return Q(external_id=text)  # caseExact (RFC 7643 4.1.1)
    # userName and emails.value are the portal email: case-insensitive, stored normalised.
    email = normalize_email(text)
    if op is CompareOperator.sw:
        return Q(email_normalized__startswith=email)
    if op is CompareOperator.co:
        return Q(email_normalized__contains=email)
    return Q(email_normalized=email)


class _UserCondition(FilterVisitor[Q]):
    def __init__(self) -> None:
        self.comparisons = 0

    def _count(self) -> None:
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise InvalidFilterException(
                detail=f"a filter has at most {MAX_COMPARISONS} comparisons"
            )

    def visit_comparison(self, node: Comparison, prefix: str | None = None) -> Q:
        self._count()
        return _comparison(_name(node.attr_path, prefix), node.op, node.value)

    def visit_present(self, node: Present) -> Q:
        raise InvalidFilterException(detail="the pr operator is not supported")

    def visit_not(self, node: Not) -> Q:
        return ~self.visit(node.expr)

    def visit_logical_expr(self, node: LogicalExpr) -> Q:
        terms = [self.visit(term) for term in node.terms]
        condition = terms[0]
        for term in terms[1:]:
            condition = condition & term if node.op is LogicalOperator.and_ else condition | term
        return condition

    def visit_value_path(self, node: ValuePath) -> Q:
        # emails[value eq "x"]: only the email's value can be selected on.
        inner = node.val_filter
        if not isinstance(inner, Comparison) or _name(node.attr_path) != "emails.value":
            raise InvalidFilterException(detail='only emails[value eq "..."] is supported')
        return self.visit_comparison(inner, prefix=node.attr_path.attr)


def user_condition(expression: str) -> Q:
    """The condition ``expression`` puts on users; InvalidFilterException (400
    invalidFilter) for a filter that does not parse or names what is not supported."""
    if len(expression) > MAX_FILTER_LENGTH:
        raise InvalidFilterException(
            detail=f"a filter is at most {MAX_FILTER_LENGTH} characters long"
        )
    if text_problem(expression) is not None:
        raise InvalidFilterException(detail="the filter holds characters that cannot be read")
    return _UserCondition().visit(ScimFilter(expression).ast)
