"""Run the app with uvicorn: one process, or several workers that each build their own app.

Workers are separate processes (the screening is CPU-bound and holds the GIL), so the
configuration travels to them in an environment variable, as JSON.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import tempfile
from typing import TypedDict

import uvicorn
from fastapi import FastAPI

from .app import ServiceConfig, check_listening, create_app

__all__ = ["serve", "app_from_env", "CONFIG_ENV"]

CONFIG_ENV = "SCREENING_SERVICE_CONFIG"


class _ServerOptions(TypedDict):
    """The uvicorn.run options one process and several workers share."""

    host: str
    port: int
    access_log: bool
    limit_concurrency: int
    timeout_keep_alive: int
    server_header: bool
    ssl_certfile: str | None
    ssl_keyfile: str | None


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
    common: _ServerOptions = {
        "host": host,
        "port": port,
        "access_log": access_log,
        "limit_concurrency": 1000,
        "timeout_keep_alive": 5,
        "server_header": False,
        "ssl_certfile": ssl_certfile,
        "ssl_keyfile": ssl_keyfile,
    }
    if workers <= 1:
        uvicorn.run(_app(config), **common)
        return
    scratch = None
    if config.state_path is None:  # the workers share the cards issued and the token ids seen
        scratch = tempfile.mkdtemp(prefix="screening-serve-")
        config = dataclasses.replace(config, state_path=os.path.join(scratch, "state.sqlite"))
    os.environ[CONFIG_ENV] = _dump(config)
    try:
        uvicorn.run("screening.service.server:app_from_env", factory=True, workers=workers, **common)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
