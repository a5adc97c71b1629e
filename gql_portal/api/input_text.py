"""The text rule (gql_portal/inputs.py) for a whole GraphQL request at once.

Every string a client sends, in the variables or as a literal in the document, whatever
argument or input field it is for, is checked before anything executes: a NUL or a lone
surrogate answers ``BAD_USER_INPUT`` instead of reaching a statement (PostgreSQL refuses
NUL in text, no driver encodes a surrogate) as an internal error.
"""

from typing import Any

from graphql import GraphQLError, StringValueNode, ValidationRule

from gql_portal.errors import ErrorCode
from gql_portal.inputs import text_problem


def _first_problem(value: Any) -> str | None:
    # Iterative: a JSON body may nest deeper than Python's recursion limit.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return problem
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def variable_text_errors(variables: dict[str, Any] | None) -> list[GraphQLError]:
    """One request error per variable holding a string no database can take."""
    errors: list[GraphQLError] = []
    for name, value in (variables or {}).items():
        problem = _first_problem(value)
        if problem is not None:
            errors.append(
                GraphQLError(
                    f"Variable '${name}' {problem}",
                    extensions={"code": ErrorCode.BAD_USER_INPUT.value, "field": name},
                )
            )
    return errors


class StorableTextLiterals(ValidationRule):
    """The same rule for string literals (``"\\u0000"``); validation results are cached."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        problem = text_problem(node.value)
        if problem is not None:
            self.report_error(GraphQLError(f"A string literal {problem}", node))
