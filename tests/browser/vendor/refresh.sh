#!/usr/bin/env bash
# Refresh the vendored axe-core (tests only; never served by the app): the pinned release's
# unmodified axe.min.js and its license, from the npm registry with `npm pack`, checked
# against the registry's integrity hash. Bump AXE_VERSION on purpose, then run this.
set -euo pipefail
AXE_VERSION=4.14.1
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "axe-core@$AXE_VERSION" >/dev/null
tarball="axe-core-$AXE_VERSION.tgz"
expected="$(npm view "axe-core@$AXE_VERSION" dist.integrity)"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
[[ "$expected" == "$actual" ]] || { echo "integrity mismatch: $expected != $actual"; exit 1; }
tar -xzf "$tarball"
install -m 0644 package/axe.min.js "$here/axe.min.js"
install -m 0644 package/LICENSE "$here/axe-core.LICENSE"
echo "axe-core $AXE_VERSION $expected" >"$here/axe-core.VERSION"
echo "vendored axe-core $AXE_VERSION into $here"
