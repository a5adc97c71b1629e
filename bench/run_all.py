"""Every benchmark, one after the other: ``make bench`` or ``python -m bench.run_all``.

Scripts other engineers add (bench/bulk_enable.py, bench/outbox_cost.py, bench/audit_pages.py,
bench/portal.py) run when present.
A script that fails is reported and the others still run; the exit status says whether all
ran.
"""

import argparse
import importlib.util
import subprocess
import sys
import time

SCRIPTS = [
    "me",
    "users_page",
    "verify_totp",
    "login_burst",
    "middleware",
    "bulk_enable",
    "outbox_cost",
    "audit_pages",
    "portal",
    "mail_delivery",
    "scim",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--only", nargs="*", help="run only these scripts")
    args, extra = parser.parse_known_args(argv)
    failed = []
    for name in args.only or SCRIPTS:
        if importlib.util.find_spec(f"bench.{name}") is None:
            print(f"\n== bench/{name}.py: not present, skipped", flush=True)
            continue
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", f"bench.{name}", "--db", args.db, *extra], check=False
        )
        took = time.monotonic() - started
        print(
            f"   bench/{name}.py: {'ok' if done.returncode == 0 else 'FAILED'} in {took:.0f}s",
            flush=True,
        )
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
