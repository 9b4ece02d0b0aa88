"""Run the app with hypercorn: one process, or several workers that each build their own app.

The server's bounds (the header deadline; hypercorn, not uvicorn) are :mod:`screening.asgi`'s,
shared with the web app; the body is bounded by the app (:class:`screening.asgi.BodyDeadline`).
Workers are separate processes (the screening is CPU-bound and holds the GIL), so the
configuration travels to them as a JSON file of mode 0600 in a private folder (mode 0700),
removed when the server stops; only its path is in the environment. The configuration can hold
a store URL with a password, which an environment variable or a command line would show to
other processes (/proc/<pid>/environ, cmdline).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import shutil
import tempfile

from fastapi import FastAPI

from ..asgi import HEADER_TIMEOUT, server_config
from .app import ServiceConfig, check_listening, create_app

__all__ = ["serve", "app_from_env", "CONFIG_FILE_ENV", "HEADER_TIMEOUT", "server_config"]

CONFIG_FILE_ENV = "SCREENING_SERVICE_CONFIG_FILE"  # the path of the workers' configuration, never the configuration


def _dump(config: ServiceConfig) -> str:
    data = dataclasses.asdict(config)
    data["today"] = config.today.isoformat() if config.today else None
    return json.dumps(data)


def _load(text: str) -> ServiceConfig:
    data = json.loads(text)
    data["today"] = dt.date.fromisoformat(data["today"]) if data.get("today") else None
    data["allow_origins"] = tuple(data.get("allow_origins") or ())
    return ServiceConfig(**data)


def _app(config: ServiceConfig) -> FastAPI:
    """The app, with its feedback kept in the decisions store when one is configured."""
    decisions = None
    if config.store:
        from ..decisions.store import open_store
        from ..decisions.store.feedback import StoreFeedbackSink

        decisions = StoreFeedbackSink(open_store(config.store, lock_timeout=10))  # a locked store: an error in 10 s
    return create_app(config, decisions=decisions)


def _write_private(folder: str, config: ServiceConfig) -> str:
    """The configuration as a file only this user can read, created new (never through a link)."""
    path = os.path.join(folder, "config.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(_dump(config))
    return path


def _read_private(path: str) -> ServiceConfig:
    """The configuration the server wrote; refused when anyone else could have written or read it."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, encoding="utf-8") as handle:
        info = os.fstat(handle.fileno())
        if info.st_mode & 0o077 or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            raise PermissionError(f"{CONFIG_FILE_ENV}: {path} is readable or owned by another user; not used")
        return _load(handle.read())


def app_from_env() -> FastAPI:
    """The app factory each worker calls."""
    return _app(_read_private(os.environ[CONFIG_FILE_ENV]))


def serve(
    config: ServiceConfig,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    access_log: bool = True,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> None:
    """Run until interrupted. The access log holds method, path and status, never a body."""
    config.check()
    check_listening(config, host)
    settings = server_config(host, port, workers=workers, access_log=access_log, certfile=ssl_certfile, keyfile=ssl_keyfile)
    if workers <= 1:
        from hypercorn.asyncio import serve as run_server

        asyncio.run(run_server(_app(config), settings, mode="asgi"))  # type: ignore[arg-type]
        return
    private = tempfile.mkdtemp(prefix="screening-serve-")  # mode 0700
    try:
        if config.state_path is None:  # the workers share the cards issued and the token ids seen
            config = dataclasses.replace(config, state_path=os.path.join(private, "state.sqlite"))
        os.environ[CONFIG_FILE_ENV] = _write_private(private, config)
        settings.application_path = "screening.service.server:app_from_env()"
        from hypercorn.run import run

        run(settings)
    finally:
        os.environ.pop(CONFIG_FILE_ENV, None)
        shutil.rmtree(private, ignore_errors=True)
