"""Reading an import CSV: the whole-file checks, then each row's, before any job exists.

A whole-file fault (no header, bad encoding, too many rows, a cell over the limit) is one
BAD_USER_INPUT with ``field`` "csv" (and ``line`` where one line is at fault): nothing is
stored. A row's fault refuses that row only: it is stored with its reason and reported in
``BulkJob.errors`` with its line number as a spreadsheet shows it (the header is line 1).

Pure CPU work on a string: the caller runs it in a thread for a big file, so a
100,000-row file does not stall the event loop.
"""

import csv
import io
from dataclasses import dataclass

from gql_portal.accounts.models import Role, encode_roles
from gql_portal.accounts.validation import require_display_name, require_email
from gql_portal.errors import BadUserInputError

HEADER = ("email", "display_name", "roles")
MAX_ROWS = 100_000
# Far above any real email, display name or role list: a longer cell is a wrong file
# (a binary pasted in, a quote never closed), refused whole rather than row by row.
MAX_CELL = 1_000
ROLE_SEPARATOR = ";"
_ROLES = {role.value: role for role in Role}


@dataclass(frozen=True, slots=True)
class ImportLine:
    """One data row. ``roles`` is stored encoded (``,A,B,``), "" for an empty cell: a new
    user then gets USER and an existing one keeps theirs; an empty display name likewise."""

    line: int
    email: str
    email_normalized: str
    display_name: str
    roles: str
    error: str | None = None


def _whole_file(message: str, line: int | None = None) -> BadUserInputError:
    if line is None:
        return BadUserInputError(message, field="csv")
    return BadUserInputError(f"Line {line}: {message}", field="csv", line=line)


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _check_encoding(text: str, max_bytes: int) -> None:
    """The CSV arrives as a GraphQL String (already Unicode): "bad encoding" is what no
    UTF-8 text file holds: a NUL byte, or a lone surrogate (JSON's ``\\ud800``)."""
    nul = text.find("\x00")
    if nul >= 0:
        raise _whole_file("the file is not UTF-8 text (it holds a NUL byte)", _line_of(text, nul))
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as error:
        raise _whole_file(
            "the file is not UTF-8 text (it holds an unpaired surrogate)",
            _line_of(text, error.start),
        ) from None
    if size > max_bytes:
        raise _whole_file(f"the file is larger than {max_bytes:,} bytes")


def _parse_roles(cell: str) -> tuple[str, str | None]:
    names = [part.strip().upper() for part in cell.split(ROLE_SEPARATOR) if part.strip()]
    if not names:
        return "", None
    unknown = [name for name in names if name not in _ROLES]
    if unknown:
        allowed = ", ".join(_ROLES)
        return "", f"Unknown role {unknown[0]!r} (roles are {allowed}, separated by ';')"
    return encode_roles([_ROLES[name] for name in names]), None


def _row(line: int, cells: list[str], first_lines: dict[str, int]) -> ImportLine:
    if len(cells) != len(HEADER):
        email = cells[0].strip() if cells else ""
        return ImportLine(
            line, email, email.lower(), "", "", f"Expected 3 columns, found {len(cells)}"
        )
    email_cell, name_cell, roles_cell = cells
    email = email_cell.strip()
    try:
        normalized = require_email(email)
        display_name = require_display_name(name_cell)
    except BadUserInputError as error:
        return ImportLine(line, email, email.lower(), "", "", error.message)
    roles, roles_error = _parse_roles(roles_cell)
    if roles_error is not None:
        return ImportLine(line, email, normalized, display_name, "", roles_error)
    first = first_lines.setdefault(normalized, line)
    if first != line:
        return ImportLine(
            line, email, normalized, display_name, roles, f"Duplicate of line {first}"
        )
    return ImportLine(line, email, normalized, display_name, roles)


def parse_import(text: str, *, max_bytes: int) -> list[ImportLine]:
    """Every data row of the file (blank lines skipped), each refused row with its reason."""
    _check_encoding(text, max_bytes)
    # newline="": only CR and LF end a line (str.splitlines would split cells at U+2028).
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    rows: list[ImportLine] = []
    first_lines: dict[str, int] = {}
    header_seen = False
    line = 1
    try:
        for cells in reader:
            # A quoted cell may span lines: the row starts after the previous one ended.
            start, line = line, reader.line_num + 1
            if any(len(cell) > MAX_CELL for cell in cells):
                raise _whole_file(f"a cell is longer than {MAX_CELL:,} characters", start)
            if not header_seen:
                if tuple(cell.strip().lower() for cell in cells) != HEADER:
                    raise _whole_file(
                        "the first line must be the header email,display_name,roles", 1
                    )
                header_seen = True
                continue
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) == MAX_ROWS:
                raise _whole_file(f"the file has more than {MAX_ROWS:,} rows", start)
            rows.append(_row(start, cells, first_lines))
    except csv.Error as error:
        # The csv module's own limit (131,072 characters) stops a huge cell before ours.
        if "field larger than field limit" in str(error):
            raise _whole_file(f"a cell is longer than {MAX_CELL:,} characters", line) from None
        raise _whole_file(f"not a readable CSV ({error})", line) from None
    if not header_seen:
        raise _whole_file(
            "the file is empty; the first line must be the header email,display_name,roles", 1
        )
    return rows
