"""Refresh GraphiQL's vendored assets (gql_portal/graphiql/static/) from the npm registry.

    python scripts/vendor_graphiql.py

Each package is fetched with ``npm pack`` at the pinned version, its tarball checked
against the pinned integrity (the registry's ``dist.integrity``), and the listed files
copied unmodified with the package's LICENSE. ``vendor.json`` records each file's
SHA-256; tests/http/test_graphiql.py checks the files still match it. To move to a new
release: change the version and integrity here (``npm view graphiql@X dist.integrity``),
run the script, and try GraphiQL in a browser (its page: gql_portal/graphiql/page.html).
"""

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "gql_portal" / "graphiql" / "static"

# (package, version, integrity, {file in the tarball: name served under /graphiql/})
PACKAGES = [
    (
        "react",
        "18.2.0",
        "sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==",
        {"umd/react.production.min.js": "react.production.min.js", "LICENSE": "LICENSE.react"},
    ),
    (
        "react-dom",
        "18.2.0",
        "sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==",
        {
            "umd/react-dom.production.min.js": "react-dom.production.min.js",
            "LICENSE": "LICENSE.react-dom",
        },
    ),
    (
        "graphiql",
        "3.8.3",
        "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
        {
            "graphiql.min.js": "graphiql.min.js",
            "graphiql.min.css": "graphiql.min.css",
            "LICENSE": "LICENSE.graphiql",
        },
    ),
]


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def vendor(package: str, version: str, integrity: str, files: dict[str, str], work: Path) -> dict:
    out = subprocess.run(
        ["npm", "pack", f"{package}@{version}", "--json", "--pack-destination", str(work)],
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = work / json.loads(out.stdout)[0]["filename"]
    data = tarball.read_bytes()
    if _integrity(data) != integrity:
        sys.exit(f"{package}@{version}: the tarball does not match the pinned integrity")
    recorded = {}
    with tarfile.open(tarball) as archive:
        for inner, name in files.items():
            member = archive.extractfile(f"package/{inner}")
            if member is None:
                sys.exit(f"{package}@{version}: {inner} is not a file")
            content = member.read()
            (TARGET / name).write_bytes(content)
            recorded[name] = {
                "package": f"{package}@{version}",
                "path": inner,
                "sha256": hashlib.sha256(content).hexdigest(),
            }
    return recorded


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as work:
        for package, version, integrity, files in PACKAGES:
            manifest.update(vendor(package, version, integrity, files, Path(work)))
    (TARGET.parent / "vendor.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    )
    print(f"vendored {len(manifest)} files into {TARGET}")


if __name__ == "__main__":
    main()
