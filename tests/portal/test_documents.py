"""Every GraphQL document the portal sends is a file under static/queries/, valid against the
committed schema.graphql, used by the JavaScript, and never asks for a token."""

import re
from pathlib import Path

import pytest
from graphql import (
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    get_named_type,
    parse,
    validate,
    visit,
)

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "gql_portal" / "portal" / "static"
DOCUMENTS = sorted((STATIC / "queries").glob("*.graphql"))
# run("name", ...) and subscribe("name", ...): how the portal names a document.
USE = re.compile(r"\b(run|subscribe)\(\s*\"([a-z0-9-]+)\"")


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema((ROOT / "schema.graphql").read_text())


def uses() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for script in STATIC.rglob("*.js"):
        for function, name in USE.findall(script.read_text()):
            found.setdefault(name, set()).add(function)
    return found


def test_the_portal_has_documents() -> None:
    assert len(DOCUMENTS) >= 20


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.stem)
def test_each_document_is_valid_against_the_schema(schema: GraphQLSchema, path: Path) -> None:
    document = parse(path.read_text())
    errors = validate(schema, document)
    assert not errors, [error.message for error in errors]
    operations = [
        node for node in document.definitions if isinstance(node, OperationDefinitionNode)
    ]
    assert len(operations) == 1 and operations[0].name is not None, "one named operation a file"


def test_validation_refuses_an_unknown_field(schema: GraphQLSchema) -> None:
    # The check above would pass anything if validate() were not given the rules.
    errors = validate(schema, parse("query Me { me { id favouriteColour } }"))
    assert any("favouriteColour" in error.message for error in errors)


def test_operation_names_are_unique() -> None:
    names = [
        node.name.value
        for path in DOCUMENTS
        for node in parse(path.read_text()).definitions
        if isinstance(node, OperationDefinitionNode) and node.name
    ]
    assert len(names) == len(set(names))


def test_every_document_is_used_and_every_use_has_a_document() -> None:
    files = {path.stem for path in DOCUMENTS}
    used = uses()
    assert files - used.keys() == set(), "documents no script sends"
    assert used.keys() - files == set(), "scripts send documents that do not exist"


def test_subscriptions_go_over_the_socket_and_the_rest_over_http() -> None:
    used = uses()
    for path in DOCUMENTS:
        operation = next(
            node
            for node in parse(path.read_text()).definitions
            if isinstance(node, OperationDefinitionNode)
        )
        expected = "subscribe" if operation.operation.value == "subscription" else "run"
        assert used[path.stem] == {expected}, path.stem


class _TokenFinder(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found: list[str] = []

    def enter_field(self, node: FieldNode, *_args: object) -> None:
        parent = self.type_info.get_parent_type()
        if parent is not None and get_named_type(parent).name == "LoginPayload":
            if node.name.value == "token":
                self.found.append(node.name.value)


def _token_fields(schema: GraphQLSchema, source: str) -> list[str]:
    type_info = TypeInfo(schema)
    finder = _TokenFinder(type_info)
    visit(parse(source), TypeInfoVisitor(type_info, finder))
    return finder.found


def test_no_document_asks_for_a_token(schema: GraphQLSchema) -> None:
    """The session is the HttpOnly cookie: no script ever sees a token."""
    for path in DOCUMENTS:
        assert _token_fields(schema, path.read_text()) == [], path.stem


def test_the_token_check_finds_a_token_behind_an_alias_and_a_fragment(
    schema: GraphQLSchema,
) -> None:
    source = """
    mutation L { login(email: "a", password: "b") { ...P } }
    fragment P on LoginPayload { status secret: token }
    """
    assert _token_fields(schema, source) == ["token"]


def test_the_audit_actions_offered_exist_in_the_schema(schema: GraphQLSchema) -> None:
    labels = (STATIC / "labels.js").read_text()
    block = labels[labels.index("AUDIT_ACTIONS") :]
    offered = re.findall(r'"([A-Z_]+)"', block[: block.index("];")])
    enum = schema.get_type("AuditAction")
    assert offered and set(offered) <= set(enum.values)  # type: ignore[union-attr]
