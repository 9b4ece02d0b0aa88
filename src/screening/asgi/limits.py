"""One slow peer cannot hold a server (the service or the web app): the whole request body read under one deadline.

The server bounds the time to read a request's head (hypercorn's ``keep_alive_timeout``, armed
when a connection opens and stopped only by a complete head); no server bounds the body, so
this ASGI middleware reads it all, under ``deadline`` seconds and ``max_bytes``, before the app
sees the request: a body trickled a byte a second is a 408 at the deadline, a long one a 413.
"""

from __future__ import annotations

import json
from typing import Any

import anyio

__all__ = ["BodyDeadline"]

Scope = dict[str, Any]
Message = dict[str, Any]


class _Gone(Exception):
    pass


class _TooLarge(Exception):
    pass


class BodyDeadline:
    """Pure ASGI (a BaseHTTPMiddleware would read the body without the deadline)."""

    def __init__(self, app: Any, deadline: float = 10.0, max_bytes: int = 1_000_000, *, fhir: bool = True):
        self.app, self.deadline, self.max_bytes, self.fhir = app, deadline, max_bytes, fhir

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        try:
            with anyio.fail_after(self.deadline):
                body = await self._read(scope, receive)
        except TimeoutError:
            await _refuse(send, self.fhir, 408, "timeout", f"the request body was not received within {self.deadline:g} seconds")
            return
        except _TooLarge:
            await _refuse(send, self.fhir, 413, "too-costly", f"the request body is larger than {self.max_bytes:,} bytes")
            return
        except _Gone:
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            message: Message = await receive()  # after the body: the disconnect, when it comes
            return message

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Any) -> bytes:
        for name, value in scope.get("headers") or []:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def _refuse(send: Any, fhir: bool, status: int, code: str, diagnostics: str) -> None:
    """A FHIR OperationOutcome for the service; plain text for the web app's browsers."""
    if fhir:
        body = json.dumps(
            {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}]}
        ).encode()
    else:
        body = (diagnostics[0].upper() + diagnostics[1:] + ".\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/fhir+json" if fhir else b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
