"""The `punctual` command line (see README: Command line)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from web.settings import Settings, SettingsError


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise SystemExit(f"punctual: error: {exc}") from None


def _serve(settings: Settings, host: str, port: int, *, worker: bool) -> None:
    import uvicorn

    from web.app import create_app
    from web.embedded_redis import ensure_redis

    with ensure_redis(settings) as settings:
        app = create_app(settings, run_worker=worker)
        uvicorn.run(
            app, host=host, port=port, log_level=settings.log_level.lower(), timeout_graceful_shutdown=5
        )


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _settings()
    settings.configure_logging()
    _serve(settings, args.host, args.port, worker=not args.no_worker)


def cmd_worker(args: argparse.Namespace) -> None:
    from saq import Worker  # noqa: F401 - fail early with a clear import error

    from tasks.worker import build_worker, make_queue
    from web.embedded_redis import ensure_redis

    settings = _settings()
    settings.configure_logging()

    async def run(settings: Settings) -> None:
        queue = make_queue(settings)
        worker = build_worker(settings, queue)
        await worker.start()

    with ensure_redis(settings) as settings:
        asyncio.run(run(settings))


def cmd_migrate(args: argparse.Namespace) -> None:
    from web.db import engine as db

    settings = _settings()

    async def run() -> None:
        db.use_database(settings.database_url)
        await db.open_database()
        try:
            await db.migrate()
        finally:
            await db.close_database()

    asyncio.run(run())


def cmd_seed(args: argparse.Namespace) -> None:
    from web.seeding import SeedError, seed_file

    settings = _settings()
    try:
        report = asyncio.run(seed_file(settings, args.file))
    except SeedError as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        raise SystemExit(1) from None
    for line in report:
        print(line)


def cmd_createadmin(args: argparse.Namespace) -> None:
    from web.auth import create_user
    from web.db import engine as db

    settings = _settings()
    password = args.password or getpass.getpass("Password: ")
    if len(password) < 8:
        raise SystemExit("punctual: error: the password must be at least 8 characters long")

    async def run() -> None:
        db.use_database(settings.database_url)
        await db.open_database()
        try:
            if settings.is_sqlite:
                await db.migrate()
            await create_user(args.email, password, superuser=True)
        finally:
            await db.close_database()

    asyncio.run(run())
    print(f"Administrator {args.email} is ready.")


def cmd_sim(args: argparse.Namespace) -> None:
    from simulators.run import run_simulators

    run_simulators(host=args.host, port=args.port, fixture=args.fixture, whatsapp_port=args.whatsapp_port)


def cmd_demo(args: argparse.Namespace) -> None:
    from web.demo import run_demo

    settings = _settings()
    settings.configure_logging()
    run_demo(
        settings,
        host=args.host,
        port=args.port,
        genesys_port=args.genesys_port,
        whatsapp_port=args.whatsapp_port,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="punctual", description="Scheduled video meetings, on time in Genesys."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the web app (with an in-process worker unless --no-worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="do not run jobs in this process")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run a job worker alone")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="create or update what a seed file describes (idempotent)")
    seed.add_argument("file", help="path to the seed JSON file")
    seed.set_defaults(func=cmd_seed)

    admin = sub.add_parser("createadmin", help="create a console administrator")
    admin.add_argument("email")
    admin.add_argument("--password", help="otherwise asked for on the terminal")
    admin.set_defaults(func=cmd_createadmin)

    sim = sub.add_parser("sim", help="run the Genesys Cloud simulator (and the WhatsApp one)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8090)
    sim.add_argument("--fixture", help="fixture JSON file (default: the shipped demo fixture)")
    sim.add_argument("--whatsapp-port", type=int, default=8091)
    sim.set_defaults(func=cmd_sim)

    demo = sub.add_parser("demo", help="everything on embedded defaults, with demo data")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--genesys-port", type=int, default=8090, help="the Genesys Cloud simulator's port")
    demo.add_argument("--whatsapp-port", type=int, default=8091, help="the WhatsApp simulator's port")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
