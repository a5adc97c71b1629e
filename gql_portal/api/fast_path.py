"""Whether this process may take the fast path: the setting and the version fence.

The HTTP fast path (api/operation.py) and the executor's short paths (api/executor.py) lean
on APIs strawberry-graphql and graphql-core do not promise to keep, so they run only with
the releases they are tested with. Those ranges are written once, in pyproject.toml (the
installed project's metadata carries them here). Outside them, or with
``GQL_PORTAL_FAST_PATH`` off, strawberry's view and graphql-core's executor answer
everything, which they do in any release.

The private surface the fence covers (a release that changes any of these must pass the
suite, tests/http/test_fast_path.py and tests/http/test_fast_path_parity.py above all,
before the range in pyproject.toml moves):

- graphql-core, api/executor.py: ``Executor.execute_fields`` (overridden),
  ``execute_field``, ``handle_field_error``, ``collect_and_execute_subfields``,
  ``settle_in_background`` and ``middleware_manager`` (":meta private:" or undocumented),
  ``graphql.execution.collect_fields.FieldDetailsList`` / ``GroupedFieldSet``.
- strawberry-graphql, api/executor.py: ``StrawberryGraphQLCoreExecutionContext`` (the
  base of our executor, for ``info.operation_extensions``), the field definition under
  ``GraphQLField.extensions["strawberry-definition"]`` (``is_basic_field``,
  ``python_name``, ``default_resolver``), ``CustomGraphQLEnumType.wrapped_cls``.
- strawberry-graphql, api/operation.py and api/documents.py: ``Schema._schema``,
  ``Schema.get_extensions()`` (the extensions the fast path applies itself),
  ``strawberry.execution.is_awaitable.optimized_is_awaitable``, the rules
  ``strawberry.schema.schema.validate_document`` adds (``strawberry.schema.validation_rules``),
  and ``ExecutionContext.pre_execution_errors`` set in ``on_validate`` skipping strawberry's
  own validation (PreparedDocuments).
"""

from collections.abc import Mapping
from importlib import metadata

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from gql_portal.settings import Settings

PROJECT = "gql-portal"
FENCED = ("strawberry-graphql", "graphql-core")


def tested_ranges() -> dict[str, SpecifierSet]:
    """pyproject.toml's ranges for the fenced distributions, from the installed project."""
    try:
        requirements = metadata.requires(PROJECT) or []
    except metadata.PackageNotFoundError:
        return {}
    ranges: dict[str, SpecifierSet] = {}
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name in FENCED and requirement.marker is None:
            ranges[name] = requirement.specifier
    return ranges


def installed_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in FENCED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _is_tested(version: str | None, specifier: SpecifierSet | None) -> bool:
    # A pre-release of a tested minor is not a tested release.
    return (
        version is not None
        and specifier is not None
        and specifier.contains(version, prereleases=False)
    )


def version_problem(
    installed: Mapping[str, str | None] | None = None,
    tested: Mapping[str, SpecifierSet] | None = None,
) -> str | None:
    """Why the installed releases may not take the fast path, or None when they may."""
    installed = installed_versions() if installed is None else installed
    tested = tested_ranges() if tested is None else tested
    if all(_is_tested(installed.get(name), tested.get(name)) for name in FENCED):
        return None
    found = ", ".join(f"{name} {installed.get(name) or '(not installed)'}" for name in FENCED)
    expected = ", ".join(f"{name}{tested.get(name) or ' (no range found)'}" for name in FENCED)
    return (
        f"fast path off: installed {found}; tested range {expected} (pyproject.toml);"
        " strawberry's view and executor answer every request"
    )


def fast_path_allowed(settings: Settings) -> bool:
    """The setting is on and the installed releases are the tested ones (no log here:
    api/operation.py logs the refusal once, when the app starts)."""
    return settings.fast_path and version_problem() is None
