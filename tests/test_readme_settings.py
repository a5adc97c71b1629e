"""The README's configuration table lists every setting, with its default."""

import re
from pathlib import Path

from gql_portal.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _table() -> list[tuple[list[str], list[str]]]:
    """(names, defaults) of each row of the table under "## Configuration"."""
    section = README.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3:
            names = re.findall(r"`([A-Z0-9_]+)`", cells[0])
            rows.append((names, re.findall(r"`([^`]+)`", cells[1])))
    return rows


def _row_hint(field: str) -> str:
    info = Settings.model_fields[field]
    shown = "..." if info.default_factory or info.default is None else f"`{_text(info.default)}`"
    return f"| `{field.upper()}` | {shown} | <what it does> |"


def _text(default: object) -> str:
    if isinstance(default, bool):  # pydantic reads true/false, on/off, 1/0
        return "true" if default else "false"
    return f"{default:g}" if isinstance(default, float) else str(default)


def test_every_setting_has_a_row() -> None:
    listed = {name for names, _ in _table() for name in names}
    missing = [field for field in Settings.model_fields if field.upper() not in listed]
    assert not missing, (
        "README.md's configuration table (## Configuration) has no row for "
        + ", ".join(f"GQL_PORTAL_{field.upper()}" for field in missing)
        + "; add: "
        + " and ".join(_row_hint(field) for field in missing)
    )


def test_every_row_is_a_setting() -> None:
    settings = {field.upper() for field in Settings.model_fields}
    for names, _ in _table():
        unknown = [name for name in names if name not in settings]
        assert not unknown, f"README.md's configuration table lists {unknown}: no such setting"


def test_the_defaults_are_the_settings_defaults() -> None:
    checked = 0
    for names, defaults in _table():
        if len(defaults) != len(names):  # a sentence ("unset", "CPUs - 1"), not values
            continue
        for name, shown in zip(names, defaults, strict=True):
            default = Settings.model_fields[name.lower()].default
            if default is None:  # derived at run time (DATABASE_URL from DATA_DIR)
                continue
            assert shown == _text(default), f"README.md: {name} default {shown}, code {default}"
            checked += 1
    assert checked >= 25


def test_the_readme_says_whether_a_dotenv_file_is_read() -> None:
    assert Settings.model_config.get("env_file") is None
    assert "No `.env` file is read" in README
