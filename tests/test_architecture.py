"""The layering of docs/architecture.md, checked on every module's imports.

Every import counts: at the top, inside functions, under ``if TYPE_CHECKING:``, and the
string imports ``strawberry.lazy("...")`` and ``importlib.import_module("...")``.
"""

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP_PACKAGES = ("gql_portal", "workers")

ENTRY, API, FEATURES, CORE = "entry points", "api", "features", "core"
# What each layer may import from the project: its own layer and those below it.
MAY_IMPORT = {
    ENTRY: {ENTRY, API, FEATURES, CORE},
    API: {API, FEATURES, CORE},
    FEATURES: {FEATURES, CORE},
    CORE: {CORE},
}
ENTRY_MODULES = {"gql_portal.app", "gql_portal.asgi", "gql_portal.cli", "gql_portal.demo"}
API_PACKAGES = {"gql_portal.api", "gql_portal.http"}
CORE_PACKAGES = {"gql_portal.migrations"}
# A feature's GraphQL adapters: they live in the feature's folder but belong to the api layer.
ADAPTERS = {"types", "queries", "mutations", "subscriptions", "presenters"}
# The web and GraphQL libraries: the api layer's alone.
WEB_LIBRARIES = {"strawberry", "starlette", "graphql", "uvicorn"}

# Imports that break the layering and are being fixed on other branches right now.
# The lead removes each entry when merging its branch (test_known_breaks_still_break
# fails as soon as an entry allows nothing any more).
# Each entry: (the importers, what they may import), as fnmatch patterns.
KNOWN_BREAKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}


@dataclass(frozen=True, slots=True)
class Import:
    module: str
    target: str  # a project module, or the dotted name of a library
    line: int


def project_sources() -> dict[str, str]:
    sources = {}
    for top in TOP_PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            sources[name] = path.read_text()
    return sources


def _project_module(name: str, modules: Mapping[str, str]) -> str | None:
    """The project module a dotted name lives in (``gql_portal.errors.Foo``: gql_portal.errors)."""
    if name.split(".")[0] not in TOP_PACKAGES:
        return None
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _string_import(node: ast.Call) -> str | None:
    function = node.func
    called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    if called not in {"lazy", "import_module"} or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def _named(module: str, node: ast.AST, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module if is_package else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        yield from (f"{base}.{alias.name}" for alias in node.names)
    elif isinstance(node, ast.Call) and (target := _string_import(node)) is not None:
        yield target


@cache
def _names_in(module: str, source: str, is_package: bool) -> tuple[tuple[str, int], ...]:
    return tuple(
        (name, getattr(node, "lineno", 0))
        for node in ast.walk(ast.parse(source))
        for name in _named(module, node, is_package)
    )


def imports_of(sources: Mapping[str, str]) -> list[Import]:
    packages = {module.rpartition(".")[0] for module in sources}
    found: dict[Import, None] = {}  # one per module imported on a line, in order
    for module, source in sources.items():
        for name, line in _names_in(module, source, module in packages):
            target = _project_module(name, sources) or name
            if target != module:
                found[Import(module, target, line)] = None
    return list(found)


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def layer_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "workers" or module in ENTRY_MODULES:
        return ENTRY
    package = _package(module)
    if package in API_PACKAGES:
        return API
    if len(parts) == 1 or package in CORE_PACKAGES:
        return CORE
    if len(parts) == 2 and not (ROOT / "gql_portal" / parts[1]).is_dir():
        return CORE  # a top-level module: settings.py, errors.py, request_meta.py, ...
    return API if len(parts) > 2 and parts[2] in ADAPTERS else FEATURES


def is_adapter(module: str) -> bool:
    return layer_of(module) == API and _package(module) not in API_PACKAGES


def known_break(imported: Import) -> str | None:
    for name, (importers, targets) in KNOWN_BREAKS.items():
        if any(fnmatchcase(imported.module, importer) for importer in importers) and any(
            fnmatchcase(imported.target, target) for target in targets
        ):
            return name
    return None


def breaks_layering(imported: Import, sources: Mapping[str, str]) -> str | None:
    """Why this import breaks the layering, or None."""
    layer = layer_of(imported.module)
    if _project_module(imported.target, sources) is None:
        library = imported.target.split(".")[0]
        if library in WEB_LIBRARIES and layer in {FEATURES, CORE}:
            return f"the {layer} layer never imports {library} (the api layer's library)"
        return None
    target_layer = layer_of(imported.target)
    if target_layer not in MAY_IMPORT[layer]:
        return f"the {layer} layer may not import the {target_layer} layer"
    if _package(imported.module) == "gql_portal.http" and target_layer != CORE:
        if _package(imported.target) != "gql_portal.http":
            return "http/ (the ASGI edge) imports only core modules and itself"
    return None


def layering_problems(sources: Mapping[str, str]) -> list[str]:
    return [
        f"{imported.module} (line {imported.line}) imports {imported.target}: {reason}"
        for imported in imports_of(sources)
        if (reason := breaks_layering(imported, sources)) and not known_break(imported)
    ]


def _components(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan) of more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _cycle_through(start: str, graph: Mapping[str, set[str]], within: set[str]) -> list[str]:
    """A shortest path start -> ... -> start inside one component, for the message."""
    paths = {other: [start, other] for other in graph.get(start, ()) if other in within}
    queue = sorted(paths)
    while queue:
        node = queue.pop(0)
        if node == start:
            return paths[node]
        for other in sorted(graph.get(node, ())):
            if other in within and other not in paths:
                paths[other] = [*paths[node], other]
                queue.append(other)
    raise AssertionError(f"{start} is in no cycle")


def cycle_problems(sources: Mapping[str, str]) -> list[str]:
    """Cycles between layers, and between modules (GraphQL adapters among themselves aside:
    the schema's types refer to each other, User -> Domain -> rules -> updatedBy: User)."""
    modules: dict[str, set[str]] = {}
    layers: dict[str, set[str]] = {}
    for imported in imports_of(sources):
        if _project_module(imported.target, sources) is None or known_break(imported):
            continue
        modules.setdefault(imported.module, set()).add(imported.target)
        layers.setdefault(layer_of(imported.module), set()).add(layer_of(imported.target))
    for layer in layers:
        layers[layer].discard(layer)
    problems = []
    for graph, kind in ((layers, "layers"), (modules, "modules")):
        for component in _components(graph):
            if kind == "modules" and all(is_adapter(module) for module in component):
                continue
            cycle = _cycle_through(component[0], graph, set(component))
            problems.append(f"import cycle between {kind}: {' -> '.join(cycle)}")
    return problems


SOURCES = project_sources()


def test_every_import_keeps_to_the_layering() -> None:
    assert layering_problems(SOURCES) == []


def test_no_import_cycle() -> None:
    assert cycle_problems(SOURCES) == []


def test_known_breaks_still_break() -> None:
    used = {known_break(imported) for imported in imports_of(SOURCES)}
    assert set(KNOWN_BREAKS) <= used, "remove the KNOWN_BREAKS entries that allow nothing"


def test_every_module_is_in_a_layer() -> None:
    layers = {module: layer_of(module) for module in SOURCES}
    assert layers["gql_portal.request_meta"] == CORE
    assert layers["gql_portal.two_factor.attempt"] == FEATURES
    assert layers["gql_portal.two_factor.mutations"] == API
    assert layers["gql_portal.http.server"] == API
    assert layers["gql_portal.cli"] == ENTRY
    assert layers["workers.settings"] == ENTRY
    assert {layer_of(module) for module in SOURCES} == set(MAY_IMPORT)


def test_the_picture_names_every_package_and_core_module() -> None:
    picture = (ROOT / "docs" / "architecture.md").read_text().split("```")[1]
    names = {module.split(".")[1] for module in SOURCES if module.startswith("gql_portal.")}
    missing = {name for name in names | {"workers"} if not re.search(rf"\b{name}\b", picture)}
    assert missing == set(), f"docs/architecture.md: place {sorted(missing)} in a layer"


def _with(module: str, source: str) -> dict[str, str]:
    return {**SOURCES, module: SOURCES.get(module, "") + "\n" + source}


@pytest.mark.parametrize(
    ("module", "source", "named"),
    [
        (
            "gql_portal.two_factor.attempt",
            "from gql_portal.api.context import Info",
            "gql_portal.two_factor.attempt (line",
        ),
        (
            "gql_portal.accounts.services",
            "def later():\n    from gql_portal.accounts.types import UserType",
            "imports gql_portal.accounts.types: the features layer may not import the api",
        ),
        (
            "gql_portal.audit.services",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import starlette.requests",
            "imports starlette.requests: the features layer never imports starlette",
        ),
        ("gql_portal.rules.services", "import strawberry", "never imports strawberry"),
        ("gql_portal.errors", "from gql_portal.audit import models", "gql_portal.audit.models"),
        ("gql_portal.settings", "import graphql", "the core layer never imports graphql"),
        ("gql_portal.two_factor.totp", "from ..api import context", "gql_portal.api.context"),
        ("gql_portal.bulk.runner", "import workers.bulk", "may not import the entry points"),
        ("gql_portal.api.view", "from gql_portal import cli", "imports gql_portal.cli"),
        ("gql_portal.http.ops", "from gql_portal.api import schema", "http/ (the ASGI edge)"),
        (
            "gql_portal.bulk.events",
            "importlib.import_module('gql_portal.bulk.types')",
            "imports gql_portal.bulk.types",
        ),
        # The allowlist names its importers: api.view from another feature still breaks.
        ("gql_portal.bulk.services", "from gql_portal.api.view import request_meta", "api.view"),
    ],
)
def test_a_breaking_import_is_named(module: str, source: str, named: str) -> None:
    problems = layering_problems(_with(module, source))
    assert len(problems) == 1
    assert named in problems[0]
    assert problems[0].startswith(module)


def test_the_allowlist_allows_only_its_breaks(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = (("gql_portal.audit.export",), ("gql_portal.api.*",))
    monkeypatch.setitem(KNOWN_BREAKS, "the export's HTTP handler lived in audit/", entry)
    view = "from gql_portal.api.view import bearer_token"
    assert layering_problems(_with("gql_portal.audit.export", view)) == []
    assert layering_problems(_with("gql_portal.rules.services", view)) != []
    permissions = "from gql_portal.api.permissions import SignedIn"
    assert layering_problems(_with("gql_portal.audit.reader", permissions)) != []


@pytest.mark.parametrize(
    ("additions", "cycle"),
    [
        # Inside one layer, hidden in a function.
        (
            {
                "gql_portal.clock": "def later():\n    from gql_portal.request_meta import SYSTEM",
                "gql_portal.request_meta": "from gql_portal.clock import utcnow",
            },
            "modules: gql_portal.clock -> gql_portal.request_meta -> gql_portal.clock",
        ),
        # Between two feature packages, under TYPE_CHECKING.
        (
            {
                "gql_portal.accounts.models": (
                    "if TYPE_CHECKING:\n    from gql_portal.two_factor.models import RecoveryCode"
                )
            },
            "modules: gql_portal.accounts.models -> gql_portal.two_factor.models -> gql_portal.acc",
        ),
        # A domain module back into the adapter built on it: between layers too.
        ({"gql_portal.audit.services": "import gql_portal.audit.types"}, "between layers: "),
    ],
)
def test_an_import_cycle_is_named(additions: dict[str, str], cycle: str) -> None:
    sources = dict(SOURCES)
    for module, source in additions.items():
        sources[module] += "\n" + source
    problems = cycle_problems(sources)
    assert any(cycle in problem for problem in problems), problems
