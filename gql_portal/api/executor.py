"""The portal's graphql-core executor, and a variant with a short path for plain leaves.

``PortalExecutor`` runs every operation (HTTP, strawberry's view, subscriptions): it only
refuses variables that could not be stored before graphql-core builds the execution.

A users page is ~800 fields, and most are attributes read off an object and coerced
(``email``, ``enabled``, ``roles``). graphql-core walks each through the general path:
resolve info, the field's resolver wrapper, awaitable checks, then complete_value's type
dispatch. For a field strawberry itself marks as basic (its default resolver, no
extension, no permission) whose type is a scalar or enum (or a list of them), and that is
selected without arguments, ``ShortPathExecutor`` reads the attribute and coerces it
directly. Anything else, any value the short path is not sure of (null, a coercion that
fails or returns nothing), and every field while a middleware wraps the resolvers take
graphql-core's own path, so results and errors are the same. It overrides graphql-core's
private ``execute_fields``: it runs only inside the version fence (api/fast_path.py).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import Executor
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gql_portal.api.input_text import variable_text_errors

Plan = Callable[[Any], Any]
_NO_PLAN: Any = object()
_PLAN_ATTRIBUTE = "_gql_portal_leaf_plan"
_OBJECT_PLAN_ATTRIBUTE = "_gql_portal_object_plan"


def _nullable(kind: GraphQLOutputType) -> Any:
    return kind.of_type if isinstance(kind, GraphQLNonNull) else kind


def _output_coercion(kind: Any) -> Callable[[Any], Any]:
    """An enum's members looked up in a table (strawberry's coercion scans the values);
    anything else, and any value not in the table, goes to the type's own
    ``coerce_output_value`` (what graphql-core's complete_leaf_value calls)."""
    coerce: Callable[[Any], Any] = kind.coerce_output_value
    wrapped = getattr(kind, "wrapped_cls", None)
    if not isinstance(kind, GraphQLEnumType) or wrapped is None:
        return coerce
    table: dict[Any, str] = {}
    for member in wrapped:
        for name, value in kind.values.items():
            if member.value == value.value:
                table.setdefault(member, name)
                break

    def enum_value(value: Any) -> Any:
        found = table.get(value) if isinstance(value, wrapped) else None
        return found if found is not None else coerce(value)

    return enum_value


def _attribute(field: GraphQLField) -> str | None:
    """The attribute a field strawberry marks as basic reads (no resolver, no extension,
    no permission, no argument), or None. Strawberry reads it with its configured default
    resolver: the short path only where that is ``getattr``."""
    if field.resolve is None or not is_default_resolver(field.resolve) or field.args:
        return None
    definition = field.extensions.get("strawberry-definition")
    name = getattr(definition, "python_name", None)
    if (
        not isinstance(name, str)
        or not getattr(definition, "is_basic_field", False)
        or getattr(definition, "default_resolver", None) is not getattr
    ):
        return None
    return name


def _cached(field: GraphQLField, attribute: str, build: Callable[[GraphQLField], Any]) -> Any:
    """A plan is built once per field of the schema and kept on the field itself."""
    plan = getattr(field, attribute, None)
    if plan is None:
        plan = build(field) or _NO_PLAN
        setattr(field, attribute, plan)
    return None if plan is _NO_PLAN else plan


def _leaf_plan(field: GraphQLField) -> Plan | None:
    """How to read and coerce a basic leaf field, or None for graphql-core's path."""
    name = _attribute(field)
    if name is None:
        return None
    kind = _nullable(field.type)
    # A null where the type allows it is the answer; where it does not, graphql-core's path
    # reports the error.
    null: Any = Undefined if isinstance(field.type, GraphQLNonNull) else None
    if is_leaf_type(kind):
        coerce = _output_coercion(kind)

        def scalar(source: Any) -> Any:
            value = getattr(source, name)
            if value is None:
                return null
            out = coerce(value)
            return Undefined if out is None else out

        return scalar
    if isinstance(kind, GraphQLList):
        item = kind.of_type
        if isinstance(item, GraphQLNonNull) and is_leaf_type(item.of_type):
            coerce_item = _output_coercion(item.of_type)

            def items(source: Any) -> Any:
                values = getattr(source, name)
                if values is None:
                    return null
                if isinstance(values, str | bytes | dict):
                    return Undefined
                out = []
                for value in values:
                    if value is None:
                        return Undefined
                    item_out = coerce_item(value)
                    if item_out is None:
                        return Undefined
                    out.append(item_out)
                return out

            return items
    return None


def leaf_plan(field: GraphQLField) -> Plan | None:
    plan: Plan | None = _cached(field, _PLAN_ATTRIBUTE, _leaf_plan)
    return plan


@dataclass(frozen=True, slots=True)
class ObjectPlan:
    """A basic field holding an object: read it, then run the sub-selection directly."""

    name: str
    field_type: GraphQLOutputType
    object_type: GraphQLObjectType
    nullable: bool


def object_plan(field: GraphQLField) -> ObjectPlan | None:
    plan: ObjectPlan | None = _cached(field, _OBJECT_PLAN_ATTRIBUTE, _object_plan)
    return plan


def _object_plan(field: GraphQLField) -> ObjectPlan | None:
    name = _attribute(field)
    if name is None:
        return None
    kind = _nullable(field.type)
    if not isinstance(kind, GraphQLObjectType) or kind.is_type_of is not None:
        return None
    return ObjectPlan(name, field.type, kind, not isinstance(field.type, GraphQLNonNull))


Entry = tuple[str, FieldDetailsList, Plan | None, ObjectPlan | None]


class PortalExecutor(StrawberryGraphQLCoreExecutionContext):
    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> list[GraphQLError] | Executor[Any]:
        # Every path (HTTP fast path, strawberry's view, subscriptions) builds here.
        errors = variable_text_errors(raw_variable_values)
        if errors:
            return errors
        return super().build(
            schema, document, root_value, context_value, raw_variable_values, *args, **kwargs
        )


class ShortPathExecutor(PortalExecutor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per execution: a page of 50 users shares one grouped field set per object type.
        self._entries: dict[int, tuple[GroupedFieldSet, list[Entry]]] = {}

    def _plan_entries(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[Entry]:
        cached = self._entries.get(id(grouped_field_set))
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        entries: list[Entry] = []
        for response_name, details in grouped_field_set.items():
            node = details[0].node
            field = None if node.arguments else parent_type.fields.get(node.name.value)
            if field is None:
                entries.append((response_name, details, None, None))
            else:
                entries.append((response_name, details, leaf_plan(field), object_plan(field)))
        self._entries[id(grouped_field_set)] = (grouped_field_set, entries)
        return entries

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        """graphql-core's execute_fields, with plain leaves read and coerced inline."""
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            # A middleware (an extension's resolve hook) wraps every resolver: none skipped.
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, details, plan, nested in self._plan_entries(
                parent_type, grouped_field_set
            ):
                if plan is not None:
                    try:
                        value = plan(source_value)
                    except Exception:
                        value = Undefined
                    if value is not Undefined:
                        results[response_name] = value
                        continue
                field_path = Path(path, response_name, parent_type.name)
                if nested is not None:
                    result = self._object_field(
                        nested, source_value, details, field_path, position_context
                    )
                else:
                    result = self.execute_field(
                        parent_type, source_value, details, field_path, position_context
                    )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _object_field(
        self,
        plan: ObjectPlan,
        source: Any,
        details: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        """execute_field + complete_object_value for a plain attribute, errors handled the
        same way: a nullable field becomes null with its error, a non-null one raises."""
        try:
            value = getattr(source, plan.name)
            if value is None:
                if plan.nullable:
                    return None
                raise TypeError(
                    "Cannot return null for non-nullable field"
                    f" {path.typename}.{details[0].node.name.value}."
                )
            completed = self.collect_and_execute_subfields(
                plan.object_type, details, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.field_type, details, path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, plan.field_type, details, path)
                return None

        return await_completed()
