"""The gql-portal command: every subcommand fails with one line and a non-zero exit."""

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

from gql_portal.settings import Settings, get_settings

Handler = Callable[[argparse.Namespace], int]
MAX_DEMO_USERS = 1_000_000


def _serve(args: argparse.Namespace) -> int:
    from gql_portal.crypto import load_keys
    from gql_portal.http.server import apply_flags, serve
    from gql_portal.http.supervisor import ListenError
    from gql_portal.notifications.transport import check_mail_settings

    settings = apply_flags(vars(args))
    load_keys(settings)  # one line for a missing production key, not a traceback
    check_mail_settings(settings)  # ... or a missing SMTP_URL
    try:
        return serve(host=args.host, port=args.port, workers=args.workers)
    except ListenError as error:
        raise CommandError(str(error)) from None


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

    applied = asyncio.run(migrate(get_settings()))
    for name in applied:
        print(f"applied {name}")
    done = f"{len(applied)} migrations applied" if applied else "nothing to apply"
    print(f"{done}: the database is up to date")
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

    roles = [Role(role) for role in (args.role or ["USER"])]
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
    from gql_portal.crypto import key_fingerprint, load_keys
    from gql_portal.two_factor.rotation import rotate_encryption_keys

    async def work() -> int:
        rotated = await rotate_encryption_keys()
        first = key_fingerprint(load_keys(get_settings())[0])
        print(f"re-encrypted {rotated} secrets with the first key ({first})")
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

    roles = [Role(role) for role in args.role] if args.role else None
    return _run_db(lambda: bulk_enable(domain_name=args.domain, roles=roles, dry_run=args.dry_run))


def _import_users(args: argparse.Namespace) -> int:
    from gql_portal.bulk.command import import_users

    return _run_db(
        lambda: import_users(
            domain_name=args.domain,
            path=Path(args.file),
            dry_run=args.dry_run,
            enable_two_factor=args.enable_two_factor,
        )
    )


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


class _HelpFormatter(argparse.HelpFormatter):
    """Shows a default after the help of every option that has one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _role(value: str) -> str:
    from gql_portal.accounts.models import Role

    role = value.strip().upper().replace("-", "_")
    if role not in Role.__members__:
        raise argparse.ArgumentTypeError(
            f"invalid role {value!r}: one of {', '.join(r.value for r in Role)}"
        )
    return role


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


def _limit_help(text: str, setting: str) -> str:
    default = Settings.model_fields[setting].default
    return f"{text} (default: GQL_PORTAL_{setting.upper()}, else {default:g})"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gql-portal", description=__doc__, formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('gql-portal')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, help=help, description=help, formatter_class=_HelpFormatter
        )
        return sub

    serve = command("serve", "serve the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind to")
    serve.add_argument("--port", type=_port, default=8000, help="TCP port to bind to")
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="N",
        help="server processes, about one per core",
    )
    limits = serve.add_argument_group("edge limits, per process (default: the settings)")
    for flag, text, setting in (
        ("--max-connections", "open connections", "max_connections"),
        ("--max-header-bytes", "bytes of request line and headers", "max_header_bytes"),
        ("--max-header-count", "headers per request", "max_header_count"),
        ("--header-timeout", "seconds to send the headers", "header_timeout_seconds"),
        ("--body-timeout", "seconds to send the body", "body_timeout_seconds"),
    ):
        seconds = setting.endswith("_seconds")
        limits.add_argument(
            flag,
            type=_seconds if seconds else _positive,
            metavar="SECONDS" if seconds else "N",
            help=_limit_help(text, setting),
        )
    serve.set_defaults(handler=_serve)

    worker = command("worker", "run the arq worker (bulk jobs, audit sealing)")
    worker.add_argument("--check", action="store_true", help="exit 0 if a worker is healthy")
    worker.set_defaults(handler=_worker)

    command("migrate", "apply database migrations").set_defaults(handler=_migrate)

    domain = command("create-domain", "create a domain (tenant)")
    domain.add_argument("name", help="the domain's name, e.g. acme.example")
    domain.set_defaults(handler=_create_domain)

    user = command("create-user", "create a user in a domain")
    user.add_argument("--domain", required=True, help="the domain's name")
    user.add_argument("--email", required=True, help="the user's email address")
    user.add_argument(
        "--role",
        action="append",
        type=_role,
        help="USER, SECURITY_ADMIN, SYSTEM_ADMIN or AUDITOR, any case; repeatable (default: USER)",
    )
    user.add_argument("--password", help="at least 12 characters (default: ask on the terminal)")
    user.add_argument("--display-name", help="the name shown in the portal (default: none)")
    user.set_defaults(handler=_create_user)

    demo = command("demo", "seed the demo domain and print its credentials")
    demo.add_argument(
        "--users", type=int, default=0, metavar="N", help="make sure N generated users exist"
    )
    demo.set_defaults(handler=_demo)

    command("rotate-keys", "re-encrypt TOTP secrets with the first encryption key").set_defaults(
        handler=_rotate_keys
    )

    bulk = command("bulk-enable", "enable 2FA for the users of a domain, with a progress bar")
    bulk.add_argument("--domain", required=True, help="the domain's name")
    bulk.add_argument(
        "--role",
        action="append",
        type=_role,
        help="only users with this role, any case; repeatable (default: every user)",
    )
    bulk.add_argument("--dry-run", action="store_true", help="count the users, change nothing")
    bulk.set_defaults(handler=_bulk_enable)

    imports = command(
        "import-users", "create and update a domain's users from a CSV, with a progress bar"
    )
    imports.add_argument("--domain", required=True, help="the domain's name")
    imports.add_argument("file", help="CSV with the header email,display_name,roles")
    imports.add_argument(
        "--dry-run", action="store_true", help="report what each row would do, change nothing"
    )
    imports.add_argument(
        "--enable-two-factor", action="store_true", help="enable 2FA for the imported users"
    )
    imports.set_defaults(handler=_import_users)

    audit = command("audit", "check the audit log's hash chain")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    for name, text in (
        ("verify", "recompute a domain's chain; exit 1 at the first altered or removed event"),
        ("seal", "seal a domain's unsealed events now"),
    ):
        sub = audit_commands.add_parser(
            name, help=text, description=text, formatter_class=_HelpFormatter
        )
        sub.add_argument("--domain", required=True, help="the domain's name")
        sub.set_defaults(handler=_audit)

    export = command("export-schema", "write the GraphQL SDL")
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
    from gql_portal.notifications.transport import MailSettingsError
    from gql_portal.unknown_settings import unknown_setting_warnings

    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    for warning in unknown_setting_warnings(os.environ):
        print(f"gql-portal: warning: {warning}", file=sys.stderr)
    try:
        return handler(args)
    except (CommandError, EncryptionKeyError, MailSettingsError) as error:
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
