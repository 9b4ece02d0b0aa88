"""Run the app with hypercorn: one process, or several workers that each build their own app.

The server's bounds (the header deadline; hypercorn, not uvicorn) are :mod:`screening.asgi`'s,
shared with the web app; the body is bounded by the app (:class:`screening.asgi.BodyDeadline`).
Workers are separate processes (the screening is CPU-bound and holds the GIL), so the
configuration travels to them in an environment variable, as JSON.
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

__all__ = ["serve", "app_from_env", "CONFIG_ENV", "HEADER_TIMEOUT", "server_config"]

CONFIG_ENV = "SCREENING_SERVICE_CONFIG"


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


def app_from_env() -> FastAPI:
    """The app factory each worker calls."""
    return _app(_load(os.environ[CONFIG_ENV]))


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
    scratch = None
    if config.state_path is None:  # the workers share the cards issued and the token ids seen
        scratch = tempfile.mkdtemp(prefix="screening-serve-")
        config = dataclasses.replace(config, state_path=os.path.join(scratch, "state.sqlite"))
    os.environ[CONFIG_ENV] = _dump(config)
    settings.application_path = "screening.service.server:app_from_env()"
    from hypercorn.run import run

    try:
        run(settings)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
