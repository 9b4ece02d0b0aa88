"""Hypercorn's settings for both servers: the header deadline, an idle read guard, bounded heads.

Hypercorn, not uvicorn: its ``keep_alive_timeout`` is armed when a connection opens and stopped
only by a complete request head, so a peer that never finishes its headers is dropped after
``HEADER_TIMEOUT`` seconds (uvicorn has no header read deadline: a thousand such connections
locked everyone out, issue 26). The body is bounded by the app (:class:`.limits.BodyDeadline`).
"""

from __future__ import annotations

from hypercorn.config import Config

__all__ = ["HEADER_TIMEOUT", "server_config"]

HEADER_TIMEOUT = 5.0  # seconds for a connection to send a complete request head (and between requests)


def server_config(
    host: str, port: int, *, workers: int = 1, access_log: bool = True, certfile: str | None = None, keyfile: str | None = None
) -> Config:
    """The settings: the header deadline, an idle read guard, bounded heads, no server header."""
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.keep_alive_timeout = HEADER_TIMEOUT
    config.read_timeout = 30  # a connection silent this long mid-request is closed
    config.h11_max_incomplete_size = 16 * 1024
    config.include_server_header = False
    config.graceful_timeout = 5
    config.workers = workers
    config.accesslog = "-" if access_log else None
    config.access_log_format = '%(h)s "%(r)s" %(s)s'  # method, path and status: never a body
    config.errorlog = "-"
    config.certfile, config.keyfile = certfile, keyfile
    return config
