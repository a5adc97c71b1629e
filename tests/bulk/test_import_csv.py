"""Reading an import CSV: whole-file faults and each row's, no database."""

import pytest

from gql_portal.bulk.import_csv import MAX_ROWS, ImportLine, parse_import
from gql_portal.errors import BadUserInputError

LIMIT = 20_000_000


def parse(text: str) -> list[ImportLine]:
    return parse_import(text, max_bytes=LIMIT)


def whole_file_error(text: str, *, max_bytes: int = LIMIT) -> BadUserInputError:
    with pytest.raises(BadUserInputError) as raised:
        parse_import(text, max_bytes=max_bytes)
    assert raised.value.extensions["field"] == "csv"
    return raised.value


def test_the_header_is_required_in_any_case_spacing_and_with_a_bom() -> None:
    rows = parse("\ufeff Email , DISPLAY_NAME,Roles \r\na@x.example,A,USER\r\n")
    assert [(row.line, row.email_normalized, row.roles) for row in rows] == [
        (2, "a@x.example", ",USER,")
    ]
    for text in ("a@x.example,A,USER\n", "email,name,roles\n", "email,display_name\n", ""):
        error = whole_file_error(text)
        assert error.extensions["line"] == 1 and "header" in error.message


def test_bad_encoding_is_a_whole_file_error_with_its_line() -> None:
    nul = whole_file_error("email,display_name,roles\na@x.example,A,USER\nb@x.example,B\x00,\n")
    assert nul.extensions["line"] == 3 and "NUL" in nul.message
    lone = whole_file_error("email,display_name,roles\na@x.example,\ud800,USER\n")
    assert lone.extensions["line"] == 2 and "surrogate" in lone.message


def test_a_file_over_the_byte_limit_is_refused() -> None:
    text = "email,display_name,roles\n" + "a@x.example,A,USER\n" * 100
    assert "larger than" in whole_file_error(text, max_bytes=1024).message


def test_at_most_100000_rows() -> None:
    header = "email,display_name,roles\n"
    rows = "".join(f"u{number}@x.example,,\n" for number in range(MAX_ROWS))
    assert len(parse(header + rows)) == MAX_ROWS
    error = whole_file_error(header + rows + "one.more@x.example,,\n")
    assert error.extensions["line"] == MAX_ROWS + 2 and "100,000" in error.message


def test_a_10_mb_cell_is_a_whole_file_error() -> None:
    text = "email,display_name,roles\na@x.example,A,USER\n" + f'b@x.example,"{"x" * 10_000_000}",\n'
    error = whole_file_error(text)
    assert error.extensions["line"] == 3 and "longer than" in error.message
    # Below the csv module's own limit, still far over any real cell.
    error = whole_file_error(f"email,display_name,roles\nc@x.example,{'y' * 5000},\n")
    assert error.extensions["line"] == 2


def test_each_bad_row_is_refused_with_its_reason() -> None:
    rows = parse(
        "email,display_name,roles\n"
        "good@x.example,Good,user; Security_Admin\n"
        "\n"  # blank lines are skipped, their numbers kept
        "nope,Nope,USER\n"
        "role@x.example,Role,USER;ROOT\n"
        f"long@x.example,{'n' * 201},USER\n"
        "GOOD@x.example,Again,USER\n"
        "short@x.example,Short\n"
        '"multi@x.example","two\nlines",\n'
        "after@x.example,After,\n"
    )
    assert [(row.line, row.error) for row in rows] == [
        (2, None),
        (4, "Email is not a valid address"),
        (
            5,
            "Unknown role 'ROOT' (roles are USER, SECURITY_ADMIN, SYSTEM_ADMIN, AUDITOR, "
            "separated by ';')",
        ),
        (6, "Display name is too long"),
        (7, "Duplicate of line 2"),
        (8, "Expected 3 columns, found 2"),
        (9, None),
        (11, None),
    ]
    assert rows[0].roles == ",USER,SECURITY_ADMIN," and rows[0].display_name == "Good"
    assert rows[6].display_name == "two\nlines" and rows[6].roles == ""


def test_an_unclosed_quote_is_a_whole_file_error() -> None:
    error = whole_file_error('email,display_name,roles\na@x.example,"never closed,USER\n')
    assert error.extensions["line"] == 2
