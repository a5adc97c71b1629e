"""The ``gql-portal`` command: every subcommand fails with one line and a non-zero exit."""

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

from gql_portal.settings import get_settings

Handler = Callable[[argparse.Namespace], int]
MAX_DEMO_USERS = 1_000_000


def _serve(args: argparse.Namespace) -> int:
    from gql_portal.crypto import load_keys
    from gql_portal.http.server import apply_flags, serve

    load_keys(apply_flags(vars(args)))  # one line for a missing production key, not a traceback
    serve(host=args.host, port=args.port, workers=args.workers)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from workers.run import run_worker

    return run_worker(check=args.check)


def _run_db(work: Callable[[], Awaitable[int]]) -> int:
    from gql_portal.db import close_db, init_db

    async def main() -> int:
        await init_db(get_settings())
        try:
            return await work()
        finally:
            await close_db()

    return asyncio.run(main())


def _migrate(args: argparse.Namespace) -> int:
    from gql_portal.db import migrate

    asyncio.run(migrate(get_settings()))
    print("database is up to date")
    return 0


def _create_domain(args: argparse.Namespace) -> int:
    from gql_portal.accounts.services import create_domain

    async def work() -> int:
        domain = await create_domain(name=args.name)
        print(f"created domain {domain.name} (id {domain.id})")
        return 0

    return _run_db(work)


def _create_user(args: argparse.Namespace) -> int:
    from gql_portal.accounts.models import Role
    from gql_portal.accounts.services import create_user, get_domain_by_name
    from gql_portal.errors import NotFoundError

    try:
        roles = [Role(role) for role in (args.role or ["USER"])]
    except ValueError:
        raise CommandError(f"--role must be one of {', '.join(r.value for r in Role)}") from None
    password = args.password
    if password is None:
        if not sys.stdin.isatty():
            raise CommandError("--password is required when no terminal is attached")
        password = getpass.getpass("Password: ")

    async def work() -> int:
        domain = await get_domain_by_name(args.domain)
        if domain is None:
            raise NotFoundError(f"domain {args.domain} does not exist")
        user = await create_user(
            domain=domain,
            email=args.email,
            password=password,
            roles=roles,
            display_name=args.display_name or "",
        )
        print(f"created user {user.email} (id {user.id}) in {domain.name}")
        return 0

    return _run_db(work)


def _demo(args: argparse.Namespace) -> int:
    from gql_portal.demo import seed_demo

    if get_settings().is_production:
        # Every demo account shares a password printed here and in the README.
        raise CommandError(
            "demo creates accounts with a published password: "
            "refused in production (GQL_PORTAL_ENVIRONMENT=production)"
        )
    if not 0 <= args.users <= MAX_DEMO_USERS:
        raise CommandError(f"--users must be between 0 and {MAX_DEMO_USERS:,}")

    async def work() -> int:
        await seed_demo(extra_users=args.users, out=print)
        return 0

    return _run_db(work)


def _rotate_keys(args: argparse.Namespace) -> int:
    from gql_portal.two_factor.rotation import rotate_encryption_keys

    async def work() -> int:
        rotated = await rotate_encryption_keys()
        print(f"re-encrypted {rotated} secrets with the first key of GQL_PORTAL_ENCRYPTION_KEYS")
        return 0

    return _run_db(work)


def _export_schema(args: argparse.Namespace) -> int:
    from gql_portal.api.schema import schema_sdl

    text = schema_sdl()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return 0


def _bulk_enable(args: argparse.Namespace) -> int:
    from gql_portal.accounts.models import Role
    from gql_portal.bulk.command import bulk_enable

    try:
        roles = [Role(role) for role in args.role] if args.role else None
    except ValueError:
        raise CommandError(f"--role must be one of {', '.join(r.value for r in Role)}") from None
    return _run_db(lambda: bulk_enable(domain_name=args.domain, roles=roles, dry_run=args.dry_run))


def _audit(args: argparse.Namespace) -> int:
    from gql_portal.audit.command import seal_domain, verify_domain

    async def work() -> int:
        if args.audit_command == "seal":
            print(f"sealed {await seal_domain(args.domain)} events of {args.domain}")
            return 0
        report = await verify_domain(args.domain)
        if not report.intact:
            raise CommandError(
                f"audit chain of {args.domain} is broken: {report.problem} "
                f"({report.verified} events verified before it)"
            )
        print(
            f"audit chain of {args.domain} is intact: {report.verified} sealed events "
            f"verified, {report.unsealed} not sealed yet; head {report.head}"
        )
        return 0

    return _run_db(work)


class CommandError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, as for every other bad input; --help still shows the usage.
        self.exit(2, f"gql-portal: {message} (see gql-portal --help)\n")


def _port(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {value!r}: 1 to 65535")
    return int(value)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"invalid count {value!r}: 1 or more")
    return int(value)


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if not 0 < seconds < 86_400:
        raise argparse.ArgumentTypeError(f"invalid duration {value!r}: seconds above 0")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gql-portal", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument("--workers", type=_positive, default=1)
    limits = serve.add_argument_group("edge limits, per process (default: the settings)")
    limits.add_argument("--max-connections", type=_positive, help="open connections")
    limits.add_argument("--max-header-bytes", type=_positive, help="request line and headers")
    limits.add_argument("--max-header-count", type=_positive, help="headers per request")
    limits.add_argument("--header-timeout", type=_seconds, help="seconds to send the headers")
    limits.add_argument("--body-timeout", type=_seconds, help="seconds to send the body")
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="run the arq worker")
    worker.add_argument("--check", action="store_true", help="exit 0 if a worker is healthy")
    worker.set_defaults(handler=_worker)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=_migrate)

    domain = commands.add_parser("create-domain", help="create a domain (tenant)")
    domain.add_argument("name")
    domain.set_defaults(handler=_create_domain)

    user = commands.add_parser("create-user", help="create a user in a domain")
    user.add_argument("--domain", required=True)
    user.add_argument("--email", required=True)
    user.add_argument("--role", action="append", help="repeatable, e.g. SECURITY_ADMIN")
    user.add_argument("--password")
    user.add_argument("--display-name")
    user.set_defaults(handler=_create_user)

    demo = commands.add_parser("demo", help="seed the demo domain and print its credentials")
    demo.add_argument("--users", type=int, default=0, help="add N generated users")
    demo.set_defaults(handler=_demo)

    commands.add_parser(
        "rotate-keys", help="re-encrypt TOTP secrets with the first encryption key"
    ).set_defaults(handler=_rotate_keys)

    bulk = commands.add_parser(
        "bulk-enable", help="enable 2FA for the users of a domain, with a progress bar"
    )
    bulk.add_argument("--domain", required=True)
    bulk.add_argument("--role", action="append", help="only users with this role; repeatable")
    bulk.add_argument("--dry-run", action="store_true", help="count the users, change nothing")
    bulk.set_defaults(handler=_bulk_enable)

    audit = commands.add_parser("audit", help="check the audit log's hash chain")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    for name, text in (
        ("verify", "recompute a domain's chain; exit 1 at the first altered or removed event"),
        ("seal", "seal a domain's unsealed events now"),
    ):
        sub = audit_commands.add_parser(name, help=text)
        sub.add_argument("--domain", required=True, help="the domain's name")
        sub.set_defaults(handler=_audit)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--output", default="schema.graphql", help="a path, or - for stdout")
    export.set_defaults(handler=_export_schema)
    return parser


def _setting_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    name = "GQL_PORTAL_" + "_".join(str(part) for part in problem["loc"]).upper()
    return f"invalid setting {name}: {problem['msg']}"


def main(argv: Sequence[str] | None = None) -> int:
    from gql_portal.crypto import EncryptionKeyError
    from gql_portal.errors import PortalError

    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except (CommandError, EncryptionKeyError) as error:
        print(f"gql-portal: {error}", file=sys.stderr)
    except PortalError as error:
        print(f"gql-portal: {error.message}", file=sys.stderr)
    except ValidationError as error:
        print(f"gql-portal: {_setting_problem(error)}", file=sys.stderr)
    except KeyboardInterrupt:
        print("gql-portal: interrupted", file=sys.stderr)
    except Exception as error:
        first_line = str(error).splitlines()[0] if str(error) else ""
        print(f"gql-portal: {type(error).__name__}: {first_line}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
