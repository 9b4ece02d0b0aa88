"""Run the web app with hypercorn, bounded like the service (:mod:`screening.asgi`): a peer that
never finishes its request head is dropped after ``HEADER_TIMEOUT`` seconds, a body must arrive
whole within ``WebConfig.body_deadline`` seconds and ``MAX_BODY`` bytes. No access log: a
participant's private link is in the path."""

from __future__ import annotations

import asyncio
from typing import Any

from ..asgi import BodyDeadline, server_config
from .app import MAX_BODY, WebConfig, create_app

__all__ = ["serve", "bounded_app"]

_LOOPBACK = ("127.0.0.1", "::1")


class TrustLocalProxy:
    """The client's address from ``X-Forwarded-For`` only when the peer is this machine (the TLS
    proxy the README asks for): the login limit counts real clients, and nobody else can set it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (scope.get("client") or ("",))[0] in _LOOPBACK:
            forwarded = dict(scope.get("headers") or []).get(b"x-forwarded-for")
            if forwarded:
                scope = {**scope, "client": (forwarded.decode("latin-1").split(",")[-1].strip(), 0)}
        await self.app(scope, receive, send)


def bounded_app(config: WebConfig) -> Any:
    """The app with the body bound (outermost: the app never waits on a trickled body)."""
    return TrustLocalProxy(BodyDeadline(create_app(config), deadline=config.body_deadline, max_bytes=MAX_BODY, fhir=False))


def serve(app: Any, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run ``bounded_app(config)`` until interrupted."""
    from hypercorn.asyncio import serve as run_server

    asyncio.run(run_server(app, server_config(host, port, access_log=False), mode="asgi"))
