"""The portal's files keep to the CSP of CONTRACT section 9 and load nothing from elsewhere:
no inline script or style, no style attributes, no other origin, no markup built from text."""

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "gql_portal" / "portal" / "static"
SCRIPTS = sorted(STATIC.rglob("*.js"))
TEXT_FILES = [*SCRIPTS, *STATIC.rglob("*.css"), *STATIC.rglob("*.html")]
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name, _value in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.problems.append("<style>")
        if tag == "script":
            self._in_script = True
            self.scripts.append(names.get("src") or "")
        for name in ("src", "href"):
            value = names.get(name) or ""
            if re.match(r"^(https?:)?//", value):
                self.problems.append(f"{name}={value}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline script")


def _check_page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def test_the_page_has_no_inline_script_style_or_handler() -> None:
    page = _check_page((STATIC / "index.html").read_text())
    assert page.problems == []
    assert page.scripts == ["/portal/app.js"]


def test_the_page_check_finds_what_the_csp_would_block() -> None:
    bad = (
        '<div style="color:red" onclick="x()"></div><style>p{}</style>'
        '<script>alert(1)</script><script src="https://cdn.example/x.js"></script>'
    )
    assert len(_check_page(bad).problems) == 5


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda path: path.name)
def test_nothing_comes_from_another_origin(path: Path) -> None:
    text = path.read_text().replace(SVG_NAMESPACE, "")
    assert not re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE)
    assert "@import" not in text


# Text never becomes markup; styles only through classes; no token anywhere a script can read.
FORBIDDEN = [
    r"\.innerHTML\b",
    r"\.outerHTML\b",
    r"insertAdjacentHTML",
    r"document\.write",
    r"\beval\(",
    r"new Function",
    r"\.style\b",
    r"setAttribute\(\s*\"style\"",
    r"\bstyle:",
    r"localStorage",
    r"sessionStorage",
    r"document\.cookie",
    r"Authorization",
]


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: str(path.relative_to(STATIC)))
def test_scripts_avoid_what_the_csp_or_the_cookie_session_forbid(path: Path) -> None:
    text = path.read_text()
    assert [pattern for pattern in FORBIDDEN if re.search(pattern, text)] == []


def test_every_post_says_it_uses_the_cookie_session() -> None:
    api = (STATIC / "api.js").read_text()
    assert '"X-Session-Transport": "cookie"' in api
    assert api.count("fetch(") == 2 and api.count('credentials: "same-origin"') == 2


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: str(path.relative_to(STATIC)))
def test_relative_imports_resolve(path: Path) -> None:
    for target in re.findall(r'^import .* from "(\.[^"]+)";$', path.read_text(), re.MULTILINE):
        assert (path.parent / target).resolve().is_file(), target


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_module_graph_links() -> None:
    """Without a build step nothing else notices a misspelt import: Node links the graph
    (named exports included) before app.js first touches `document`."""
    entry = (STATIC / "app.js").as_uri()
    script = (
        f"import({entry!r}).then(() => process.exit(0), (error) => {{"
        " if (error instanceof ReferenceError && /document/.test(error.message)) process.exit(0);"
        " console.error(String(error)); process.exit(1); });"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda path: str(path.relative_to(STATIC)))
def test_every_imported_name_is_used(path: Path) -> None:
    text = path.read_text()
    for names in re.findall(r"^import \{([^}]*)\} from", text, re.MULTILINE):
        for name in (part.strip() for part in names.split(",")):
            uses = re.findall(rf"(?:(?<=\.\.\.)|(?<![\w.])){re.escape(name)}\b", text)
            assert len(uses) > 1, f"{name} is imported and never used"


def test_every_module_is_preloaded_by_the_page() -> None:
    """Without a build step the browser would find modules import by import."""
    page = (STATIC / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/portal/([^"]+)">', page))
    modules = {str(path.relative_to(STATIC)) for path in SCRIPTS} - {"app.js"}
    assert preloaded == modules
