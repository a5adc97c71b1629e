"""Document rules that run before anything executes: a refused document counts nothing."""

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from graphql import (
    DirectiveNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from gql_portal.api.input_text import StorableTextLiterals
from gql_portal.settings import Settings

# Every field that checks a password or a code: one guess per document, so aliases,
# fragments and repeated selections cannot turn one request into a brute force.
CREDENTIAL_FIELDS = frozenset(
    {
        "login",
        "verifyTotp",
        "confirmTotpEnrollment",
        "verifyRecoveryCode",
        "regenerateRecoveryCodes",
    }
)
MAX_CREDENTIAL_FIELDS = 1
# Field-name suggestions tell an attacker the schema that introspection hides.
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


# graphql-core's and strawberry's messages for bad documents and variables quote the
# schema's types, fields and arguments ("Int cannot represent ...", "Argument
# 'Query.user(id:)' of type 'ID!' is required"): production answers each kind with one
# fixed sentence instead. Syntax errors and the portal's own rules name nothing hidden.
_GENERIC_MESSAGES = [
    (re.compile(pattern), generic)
    for pattern, generic in (
        (r"^Variable '\$[^']*' (has invalid|of |cannot be |is of type )", "A variable is invalid."),
        (r"^(Unknown a|A)rgument '|^Field '[^']*' argument '", "An argument is invalid."),
        (r"^There can be only one argument", "An argument is repeated."),
        (r"^Cannot query field '", "This field cannot be queried here."),
        (r"must (not )?have a selection", "The selection of this field is invalid."),
        (r"^Fragment (cannot|'[^']*' cannot) ", "This fragment cannot be used here."),
        (r"^Fields '[^']*' conflict", "Fields with the same response name conflict."),
        (r"^Unknown type '", "Unknown type."),
    )
]
# What else speaks of types, enums or input fields is a literal of the wrong type
# ("Expected value of type ...", "Value 'X' does not exist in 'E' enum", "String cannot
# represent ...", strawberry's "Value cannot represent a DateTime").
_TYPE_TALK = re.compile(r"type '|cannot represent| enum\b|input field")
_WRONG_VALUE = "A value does not match the type expected here."


def without_suggestion(message: str) -> str:
    return _SUGGESTION.sub("", message)


def production_message(message: str) -> str:
    """The message a bad request gets in production: no "Did you mean", and no name of a
    type or argument (the code BAD_USER_INPUT and the error's position stay)."""
    if message.startswith("Syntax Error:"):
        return message
    for pattern, generic in _GENERIC_MESSAGES:
        if pattern.search(message):
            return generic
    if _TYPE_TALK.search(message):
        return _WRONG_VALUE
    return without_suggestion(message)


def _root_fields(
    selection_set: SelectionSetNode, context: ValidationContext, seen: frozenset[str]
) -> Iterator[FieldNode]:
    """Fields selected at the root, through inline fragments and fragment spreads."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, context, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            # A cycle is reported by NoFragmentCyclesRule; here it must only not loop.
            if fragment is not None and name not in seen:
                yield from _root_fields(fragment.selection_set, context, seen | {name})


def _response_keys(
    selection_set: SelectionSetNode, context: ValidationContext, seen: set[str]
) -> Iterator[str]:
    """The response keys one selection set merges, through inline fragments and fragment
    spreads (each fragment once): what OverlappingFieldsCanBeMerged compares pairwise."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield (selection.alias or selection.name).value
        elif isinstance(selection, InlineFragmentNode):
            yield from _response_keys(selection.selection_set, context, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            if fragment is not None and name not in seen:
                seen.add(name)
                yield from _response_keys(fragment.selection_set, context, seen)


class CredentialFieldLimit(ValidationRule):
    """At most one credential check per document, counting every occurrence."""

    def enter_document(self, node: Any, *_args: Any) -> None:
        count = 0
        for definition in node.definitions:
            if (
                isinstance(definition, OperationDefinitionNode)
                and definition.operation == OperationType.MUTATION
            ):
                count += sum(
                    field.name.value in CREDENTIAL_FIELDS
                    for field in _root_fields(definition.selection_set, self.context, frozenset())
                )
        if count > MAX_CREDENTIAL_FIELDS:
            self.report_error(
                GraphQLError(
                    "A document may hold only one credential check "
                    f"({', '.join(sorted(CREDENTIAL_FIELDS))}); found {count}"
                )
            )


def repetition_rule(max_repeats: int, max_directives: int) -> type[ValidationRule]:
    """Bound repeated fields in one selection set (fragments included: repeats make
    OverlappingFieldsCanBeMerged quadratic) and directives on one node."""

    class RepetitionLimit(ValidationRule):
        def enter_selection_set(self, node: SelectionSetNode, *_args: Any) -> None:
            keys = Counter(_response_keys(node, self.context, set()))
            repeated = [key for key, count in keys.items() if count > max_repeats]
            if repeated:
                self.report_error(
                    GraphQLError(
                        f"Field {repeated[0]!r} is repeated more than {max_repeats} times",
                        node,
                    )
                )

        def enter(self, node: Any, *_args: Any) -> None:
            directives: tuple[DirectiveNode, ...] = getattr(node, "directives", None) or ()
            if len(directives) > max_directives:
                self.report_error(
                    GraphQLError(f"More than {max_directives} directives on one node", node)
                )

    return RepetitionLimit


def validation_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """Built once per schema: ValidationCache keys on these classes."""
    rules: list[type[ASTValidationRule]] = [
        StorableTextLiterals,
        CredentialFieldLimit,
        depth_rule(settings.max_query_depth, None),
        aliases_rule(settings.max_aliases),
        repetition_rule(settings.max_field_repeats, settings.max_directives),
    ]
    if settings.is_production:
        rules.append(NoSchemaIntrospectionCustomRule)
    return rules
