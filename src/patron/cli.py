"""The `patron` command line.

    patron demo [--customers N] [--port P]   demo organisation, server and worker in one go
    patron serve [--bind ADDR] [--workers N] production web server (gunicorn)
    patron worker                            background jobs (imports, score refreshes)
    patron analyze FILE --as-of DATE ...     customer science on a transaction file, no server
    patron import FILE --kind customers ...  bulk import into an organisation
    patron manage COMMAND ...                any Django management command
"""

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    import django

    django.setup()


def _manage(args: Sequence[str]) -> int:
    _django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["patron manage", *args])
    return 0


def _demo(ns: argparse.Namespace) -> int:
    _django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("demo_data", customers=ns.customers, seed=ns.seed)
    # Score the demo customers so classes, value, churn alerts and dashboards show at once.
    call_command("refresh", org="demo")
    # Fill the duplicate review queue, as the periodic cleaning would have by now: in the
    # background (the worker below), since a large demo takes minutes to scan.
    from patron.customers import tasks
    from patron.organizations.models import Organization

    tasks.duplicate_scan_run.enqueue(str(Organization.objects.get(slug="demo").pk))
    if ns.no_serve:
        return 0
    address = f"http://{ns.host}:{ns.port}/"
    print(f"\nPatron is starting at {address}  (Ctrl+C stops it)\n", flush=True)
    worker = subprocess.Popen([sys.executable, "-m", "patron.cli", "worker"])
    try:
        call_command("runserver", f"{ns.host}:{ns.port}", use_reloader=False)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=10)
    return 0


def _serve(ns: argparse.Namespace) -> int:
    argv = [
        sys.executable, "-m", "gunicorn", "patron.config.wsgi:application",
        "--bind", ns.bind, "--workers", str(ns.workers), "--access-logfile", "-",
    ]
    os.execv(sys.executable, argv)  # noqa: S606 - become gunicorn; no shell is involved
    return 0  # not reached


def _worker(ns: argparse.Namespace) -> int:
    # No auto-reloader: a worker is a plain long-running process (one per core is typical).
    return _manage(["db_worker", "--no-reload", *(["--batch"] if ns.batch else [])])


def _analyze(rest: Sequence[str]) -> int:
    from patron.analytics import report

    return report.main(list(rest))


def _import(rest: Sequence[str]) -> int:
    return _manage(["import_file", *rest])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="patron", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="load the demo organisation and start server and worker")
    demo.add_argument("--customers", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--no-serve", action="store_true", help="load the data and stop")
    serve = sub.add_parser("serve", help="run the production web server")
    serve.add_argument("--bind", default=os.environ.get("PATRON_BIND", "0.0.0.0:8000"))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("PATRON_WEB_WORKERS", "3")))
    worker = sub.add_parser("worker", help="run background jobs")
    worker.add_argument("--batch", action="store_true", help="run what is queued, then stop")
    for name in ("manage", "analyze", "import"):
        sub.add_parser(name, add_help=False)
    if argv and argv[0] in ("manage", "analyze", "import"):
        handler = {"manage": _manage, "analyze": _analyze, "import": _import}[argv[0]]
        return handler(argv[1:])
    ns = parser.parse_args(argv)
    return {"demo": _demo, "serve": _serve, "worker": _worker}[ns.command](ns)


if __name__ == "__main__":
    sys.exit(main())
