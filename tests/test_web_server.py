"""`screening web serve` as a real process on 127.0.0.1: slow peers cannot lock the others out.
Hypercorn drops a connection that never finishes its request head (the header deadline, shared
with the service in screening.asgi); a body trickled a byte at a time is a 408 at the deadline and
a body over the cap a 413, before the app reads it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
from slow_clients import answering, free_port, stop, trickle_body, unfinished_heads

pytest.importorskip("screening.web", reason="the web extra is not installed: pip install 'screening[web]'")
pytest.importorskip("hypercorn")
import httpx

from screening.web.app import MAX_BODY


def _post_head(path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_slow_peers_cannot_lock_the_practice_out(tmp_path):
    port = free_port()
    log = tmp_path / "web-serve.log"
    store = tmp_path / "store.sqlite"
    command = [
        sys.executable,
        "-m",
        "screening",
        "web",
        "serve",
        "--port",
        str(port),
        "--store",
        str(store),
        "--body-timeout",
        "2",
    ]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    sockets: list[socket.socket] = []
    try:
        answering(process, f"{base}/login", log)
        sockets += unfinished_heads(port, "/login", 500)
        started = time.monotonic()
        answer = httpx.get(f"{base}/login", timeout=5)
        assert answer.status_code == 200 and "Log in" in answer.text  # others are still served
        assert time.monotonic() - started < 2
        time.sleep(7)  # past the header deadline (5 s): the server has closed them
        for s in sockets[:50]:
            s.settimeout(1)
            assert s.recv(100) == b""
        trickle = socket.create_connection(("127.0.0.1", port))
        sockets.append(trickle)
        trickle.sendall(_post_head("/login", 100))
        reply, held = trickle_body(trickle, b"n")
        assert reply.startswith(b"HTTP/1.1 408"), reply
        assert held < 4, held
        assert httpx.get(f"{base}/login", timeout=5).status_code == 200  # still answering
        too_big = httpx.post(f"{base}/login", content=b"n" * (MAX_BODY + 1), timeout=5)
        assert too_big.status_code == 413
        assert "larger than" in too_big.text
    finally:
        for s in sockets:
            s.close()
        stop(process)
    assert "GET /login" not in log.read_text()  # no access log: a participant's link is in the path


def test_the_login_limit_counts_the_forwarded_address_only_from_the_local_proxy():
    """X-Forwarded-For is believed only from this machine (the TLS proxy); from anyone else it
    would let a guesser pose as a new address at every try."""
    import asyncio

    from screening.web.server import TrustLocalProxy

    seen: list[object] = []

    async def app(scope, receive, send):
        seen.append(scope["client"])

    headers = [(b"x-forwarded-for", b"203.0.113.9, 198.51.100.7")]
    for peer in ("127.0.0.1", "192.0.2.44"):
        asyncio.run(TrustLocalProxy(app)({"type": "http", "client": (peer, 5000), "headers": headers}, None, None))
    assert seen == [("198.51.100.7", 0), ("192.0.2.44", 5000)]
