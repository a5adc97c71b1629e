"""pyproject.toml, the lock files and the installed environment say the same thing."""

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SELF = canonicalize_name(PROJECT["name"])
FIRST_PARTY = {"gql_portal", "workers", "tests", "bench"}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


class Pin:
    def __init__(self, version: str, marker: str | None, block: str) -> None:
        self.version = version
        self.applies = marker is None or Marker(marker).evaluate()
        self.direct = f"{PROJECT['name']} (pyproject.toml)" in block


def _lock(name: str) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    current: tuple[str, str, str | None] | None = None
    block: list[str] = []
    for line in [*(ROOT / name).read_text().splitlines(), "end==0"]:
        match = _PIN.match(line)
        if match is None:
            block.append(line)
            continue
        if current is not None:
            pins[canonicalize_name(current[0])] = Pin(current[1], current[2], "\n".join(block))
        current, block = (match[1], match[2], match[3]), []
    return pins


RUNTIME_LOCK = _lock("requirements.txt")
DEV_LOCK = _lock("requirements-dev.txt")


def _requirements(*groups: str) -> list[Requirement]:
    texts = list(PROJECT["dependencies"]) if "runtime" in groups else []
    for group in groups:
        texts += PROJECT["optional-dependencies"].get(group, [])
    return [Requirement(text) for text in texts]


def _declared(*groups: str) -> set[str]:
    return {canonicalize_name(req.name) for req in _requirements(*groups)}


def test_every_declared_distribution_is_locked_within_its_range() -> None:
    for lock_name, lock, groups in (
        ("requirements.txt", RUNTIME_LOCK, ("runtime",)),
        ("requirements-dev.txt", DEV_LOCK, ("runtime", "test", "dev")),
    ):
        for req in _requirements(*groups):
            if req.marker is not None and not req.marker.evaluate():
                continue
            pin = lock.get(canonicalize_name(req.name))
            assert pin is not None, f"{req.name} is declared but not in {lock_name}: make lock-sync"
            assert req.specifier.contains(pin.version, prereleases=True), (
                f"{lock_name} pins {req.name}=={pin.version}, outside {req.specifier}"
            )


def test_every_direct_pin_in_the_locks_is_still_declared() -> None:
    for lock_name, lock, declared in (
        ("requirements.txt", RUNTIME_LOCK, _declared("runtime")),
        ("requirements-dev.txt", DEV_LOCK, _declared("runtime", "test", "dev")),
    ):
        stale = sorted(name for name, pin in lock.items() if pin.direct and name not in declared)
        assert stale == [], f"{lock_name} locks {stale} for pyproject.toml, which no longer asks"


def test_the_two_locks_pin_the_same_versions() -> None:
    differ = {
        name: (pin.version, DEV_LOCK[name].version if name in DEV_LOCK else None)
        for name, pin in RUNTIME_LOCK.items()
        if name not in DEV_LOCK or DEV_LOCK[name].version != pin.version
    }
    assert differ == {}


def _third_party_imports(folder: str) -> dict[str, str]:
    """Top-level module -> a file importing it, for absolute imports outside the stdlib."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_imported_distribution_is_declared() -> None:
    owners = metadata.packages_distributions()
    for folders, declared, where in (
        (("gql_portal", "workers"), _declared("runtime"), "[project] dependencies"),
        (("tests", "bench"), _declared("runtime", "test", "dev"), "the test/dev extras"),
    ):
        for folder in folders:
            for module, path in _third_party_imports(folder).items():
                dists = {canonicalize_name(dist) for dist in owners.get(module, [])}
                assert dists, f"{path} imports {module}, which no installed distribution provides"
                assert dists & declared, f"{path} imports {module} ({dists}): declare it in {where}"


def test_the_environment_is_exactly_the_lock() -> None:
    expected = {name: pin.version for name, pin in DEV_LOCK.items() if pin.applies}
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }
    installed.pop(SELF, None)
    wrong = {
        name: (version, installed.get(name))
        for name, version in expected.items()
        if installed.get(name) != version
    }
    unlocked = sorted(set(installed) - set(expected))
    hint = "reinstall from the lock: make clean install"
    assert wrong == {}, f"installed versions differ from requirements-dev.txt: {hint}"
    assert unlocked == [], f"installed but not locked: {hint}"
