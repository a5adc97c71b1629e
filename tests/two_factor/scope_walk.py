"""Every path through the schema that leads to data about users other than the viewer.

Built from the executable schema's type graph, so a field added later (a `User` reachable
from somewhere new, another aggregate) is walked without anyone listing it here.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
)

# Object types whose content is about other users: a user itself, counts over a domain's
# users, the audit log and bulk jobs (they name who acted). Reaching one is a "hop".
ABOUT_OTHERS = frozenset(
    {"User", "TwoFactorStats", "AuditEvent", "AuditBucket", "AdoptionPoint", "BulkJob"}
)
# What the viewer may always read of itself: the root `me` and a LoginPayload's `user`.
OWN_USER_FIELDS = frozenset({("Query", "me"), ("LoginPayload", "user")})


@dataclass(frozen=True)
class SchemaPath:
    fields: tuple[str, ...]
    first_hop: int
    """Index in ``fields`` of the first field that leads to data about other users."""
    terminal: str
    """The selection sent on the last field: every leaf, and objects made only of leaves."""

    def document(self, operation: str, root_arguments: str = "", payload: str = "") -> str:
        """The path as a document: ``payload`` is selected beside it on the root field."""
        body = self.terminal
        for name in reversed(self.fields[1:]):
            body = f"{name} {{ {body} }}"
        arguments = f"({root_arguments})" if root_arguments else ""
        return f"{operation} {{ {self.fields[0]}{arguments} {{ {payload} {body} }} }}"


def _leaf_only(kind: GraphQLObjectType) -> bool:
    return all(is_leaf_type(get_named_type(field.type)) for field in kind.fields.values())


def terminal_selection(kind: GraphQLObjectType) -> tuple[str, int]:
    """Every leaf of ``kind`` and its leaf-only objects (e.g. User.twoFactor), with the
    extra depth those objects add."""
    parts: list[str] = []
    extra = 0
    for name, field in kind.fields.items():
        named = get_named_type(field.type)
        if field.args and any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values()):
            continue
        if is_leaf_type(named):
            parts.append(name)
        elif isinstance(named, GraphQLObjectType) and named.name not in ABOUT_OTHERS:
            if _leaf_only(named):
                parts.append(f"{name} {{ {' '.join(named.fields)} }}")
                extra = 1
    return " ".join(parts), extra


def _walk(
    kind: GraphQLObjectType, prefix: tuple[str, ...], hop: int | None, max_depth: int
) -> Iterator[SchemaPath]:
    for name, field in kind.fields.items():
        named = get_named_type(field.type)
        if not isinstance(named, GraphQLObjectType) or _needs_arguments(field):
            continue
        path = (*prefix, name)
        own = (kind.name, name) in OWN_USER_FIELDS
        reaches_others = named.name in ABOUT_OTHERS and not own
        first_hop = hop if hop is not None else (len(path) - 1 if reaches_others else None)
        terminal, extra = terminal_selection(named)
        # The depth rule counts the object fields above a leaf: the path, plus the
        # terminal's own objects.
        if len(path) + extra > max_depth:
            continue
        if reaches_others and first_hop is not None:
            yield SchemaPath(path, first_hop, terminal)
        yield from _walk(named, path, first_hop, max_depth)


def _needs_arguments(field: GraphQLField) -> bool:
    return any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values())


def paths_from(
    schema: GraphQLSchema, root: str, field_name: str, max_depth: int
) -> list[SchemaPath]:
    """Paths below one root field (its required arguments are the caller's to supply)."""
    root_type = schema.get_type(root)
    assert isinstance(root_type, GraphQLObjectType)
    field = root_type.fields[field_name]
    named = get_named_type(field.type)
    if not isinstance(named, GraphQLObjectType):
        return []
    reaches_others = named.name in ABOUT_OTHERS and (root, field_name) not in OWN_USER_FIELDS
    hop = 0 if reaches_others else None
    paths = []
    if reaches_others:
        paths.append(SchemaPath((field_name,), 0, terminal_selection(named)[0]))
    paths.extend(_walk(named, (field_name,), hop, max_depth))
    return paths


def reached(data: Any, fields: tuple[str, ...]) -> list[Any]:
    """The values at ``fields`` in an answer, through lists; nulls on the way end a branch."""
    values = [data]
    for name in fields:
        found: list[Any] = []
        for value in values:
            items = value if isinstance(value, list) else [value]
            found.extend(item[name] for item in items if item is not None)
        values = [value for value in found if value is not None]
    return [item for value in values for item in (value if isinstance(value, list) else [value])]
