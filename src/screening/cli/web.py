"""``screening web add-user`` and ``screening web serve``: the practice's web app (extra 'web').

Kept apart so the core commands never import it; a missing extra gives one line, not a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import sys

__all__ = ["add_parsers", "run"]

STORE_HELP = "a SQLite file or sqlite:///PATH, or postgresql://... (default: $SCREENING_STORE or ./screening-decisions.sqlite)"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    web = sub.add_parser("web", help="the practice's web app: private intake links and a review page (needs screening[web])")
    web_sub = web.add_subparsers(dest="web_command", required=True)
    add = web_sub.add_parser("add-user", help="add a facilitator (or set a new password); the password is read twice")
    add.add_argument("name")
    add.add_argument("--store", metavar="PATH|URL", help=STORE_HELP)
    serve = web_sub.add_parser("serve", help="run the web app (put it behind a TLS proxy; see README)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--store", metavar="PATH|URL", help=STORE_HELP)
    serve.add_argument("--public-url", help="the address participants' links start with (default http://HOST:PORT)")
    serve.add_argument(
        "--language", default="en", choices=("en", "nl"), help="the facilitators' pages and the clinician's report (default en)"
    )
    serve.add_argument(
        "--body-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="a request body must arrive whole within this (default 10)",
    )
    serve.add_argument("--key-file", help="the answers' key (default: beside a SQLite store, else ~/.config/screening/web.key)")


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password again: ")
    else:
        first, second = (sys.stdin.readline().rstrip("\n") for _ in range(2))
    if first != second:
        raise ValueError("the two passwords differ; nothing was changed")
    return first


def run(args: argparse.Namespace) -> int:
    try:
        from ..web import WebConfig, add_user
    except ImportError:
        print("screening: the web app needs its extra: pip install 'screening[web]'", file=sys.stderr)
        return 2
    try:
        if args.web_command == "add-user":
            add_user(args.name, _password(), args.store)
            print(f"screening: facilitator {args.name.strip()!r} can log in")
            return 0
        from ..web.server import bounded_app, serve

        config = WebConfig(
            store=args.store,
            public_url=args.public_url or f"http://{args.host}:{args.port}",
            key_file=args.key_file,
            language=args.language,
            body_deadline=args.body_timeout,
        )
        app = bounded_app(config)  # the tables and the key now: a problem is one line, before the server starts
    except (ValueError, PermissionError) as error:
        print(f"screening: {error}", file=sys.stderr)
        return 2
    serve(app, args.host, args.port)  # hypercorn: bounded header reads; the body bounded in the app
    return 0
