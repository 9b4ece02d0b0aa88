"""`screening serve` as a real process on 127.0.0.1 (a free port), called over HTTP with signed
JWTs; a stub FHIR server and JWK Set, started by the tests, stand in for the EHR."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from slow_clients import answering, free_port, stop, trickle_body, unfinished_heads

pytest.importorskip("fastapi")
import httpx
from conftest import EXAMPLES
from service_support import ISSUER, Keys, StubEHR, hook_request, responses_for

from screening import screen
from screening.interop.cds_hooks import RULE_EXTENSION

DUO = ["Patient/p1", "Patient/p2"]


class Served:
    def __init__(self, ehr: StubEHR, workers: int, tmp_path, *extra: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"serve-{workers}.log"
        command = [
            sys.executable,
            "-m",
            "screening",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--trust",
            f"{ISSUER}={ehr.url}/jwks.json",
            "--fhir-server",
            f"{ISSUER}={ehr.url}/fhir",
            *extra,
        ]
        self.process = subprocess.Popen(command, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        try:
            assert answering(self.process, f"{self.base}/healthz", self.log).status_code == 200
        except AssertionError:
            self.stop()
            raise

    def stop(self) -> str:
        stop(self.process)
        return self.log.read_text()


@pytest.fixture(scope="module")
def keys():
    return Keys()


@pytest.fixture(scope="module")
def duo_intake():
    return yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())


@pytest.mark.parametrize("workers", [1, 2])
def test_a_real_server_answers_discovery_a_duo_appointment_and_feedback(workers, keys, duo_intake, tmp_path):
    with StubEHR(keys) as ehr:
        ehr.responses.update(responses_for(duo_intake, DUO))
        served = Served(ehr, workers, tmp_path)
        try:
            base = served.base
            auth = lambda path: {"Authorization": f"Bearer {keys.token(base + path)}"}
            with httpx.Client(base_url=base, timeout=30) as client:
                assert client.get("/cds-services").status_code == 401
                discovery = client.get("/cds-services", headers=auth("/cds-services"))
                assert discovery.status_code == 200 and len(discovery.json()["services"]) == 2

                path = "/cds-services/screening-appointment"
                expected = [
                    (f.rules[0].rule_id, f.rules[0].participant) for f in screen(duo_intake).findings
                ]  # one card per finding
                seen_cards = []
                for _ in range(4):  # with two workers, several calls reach both
                    body = hook_request(
                        "appointment-book", DUO[0], patients=DUO, fhir_server=f"{ehr.url}/fhir", fhir_token="fhir-secret-token"
                    )
                    response = client.post(path, json=body, headers=auth(path))
                    assert response.status_code == 200, response.text
                    cards = response.json()["cards"]
                    assert [
                        (c["extension"][RULE_EXTENSION]["rule_id"], c["extension"][RULE_EXTENSION]["participant"]) for c in cards
                    ] == expected
                    seen_cards += cards
                assert len({c["uuid"] for c in seen_cards}) == len(seen_cards)
                assert {a for _, a in ehr.requests} == {"Bearer fhir-secret-token"}

                for card in seen_cards[:6]:  # feedback may reach the other worker: the state file is shared
                    entry = {
                        "card": card["uuid"],
                        "outcome": "overridden",
                        "overrideReason": {"reason": card["overrideReasons"][0]},
                        "outcomeTimestamp": "2026-12-01T10:00:00Z",
                    }
                    response = client.post(path + "/feedback", json={"feedback": [entry]}, headers=auth(path + "/feedback"))
                    assert response.status_code == 200, response.text

                bad = client.post(path, json={"hook": "appointment-book"}, headers=auth(path))
                assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
        finally:
            log = served.stop()
    # the server's log holds paths and status codes, never an answer or a token
    assert "POST /cds-services/screening-appointment" in log
    for secret in ("Lexapro", "ibuprofen", "romantic_partner", "fhir-secret-token", "eyJ"):
        assert secret not in log


def test_serve_refuses_to_start_without_a_trusted_issuer():
    run = subprocess.run(
        [sys.executable, "-m", "screening", "serve", "--port", str(free_port())], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2 and "--insecure-no-auth" in run.stderr


def test_serve_starts_under_a_program_other_than_the_default(tmp_path):
    """Reproduction 2 as a real process: `serve --program oregon-ops` exited with rulebook problems."""
    port = free_port()
    log = tmp_path / "serve-program.log"
    command = [sys.executable, "-m", "screening", "serve", "--port", str(port), "--insecure-no-auth", "--program", "oregon-ops"]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert answering(process, f"http://127.0.0.1:{port}/healthz", log).status_code == 200
        services = httpx.get(f"http://127.0.0.1:{port}/cds-services", timeout=5).json()["services"]
        assert all("screening-intake-oregon-ops" in s["prefetch"]["intake"] for s in services)
    finally:
        stop(process)


def test_slow_peers_cannot_lock_others_out(tmp_path):
    """Reproduction 4: 1,000 connections that never finished their headers made every request a 503,
    and a body trickled at a byte a second was held 20 s. Real sockets against a real process."""
    port = free_port()
    log = tmp_path / "serve-slow.log"
    command = [sys.executable, "-m", "screening", "serve", "--port", str(port), "--insecure-no-auth", "--body-timeout", "2"]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    sockets: list[socket.socket] = []
    try:
        answering(process, f"{base}/healthz", log)
        sockets += unfinished_heads(port, "/healthz", 1000)  # from one client, no token
        started = time.monotonic()
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200  # others are still served
        assert time.monotonic() - started < 2
        time.sleep(7)  # past the header deadline (5 s): the server has closed them
        for s in sockets[:50]:
            s.settimeout(1)
            assert s.recv(100) == b""
        trickle = socket.create_connection(("127.0.0.1", port))
        sockets.append(trickle)
        trickle.sendall(
            b"POST /cds-services/screening-patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        answer, held = trickle_body(trickle, b" ")
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert held < 4, held
    finally:
        for s in sockets:
            s.close()
        stop(process)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def test_workers_get_the_store_secret_from_a_private_file_never_environ_or_cmdline(keys, tmp_path, monkeypatch):
    """`serve --workers 2 --store URL`: neither worker's /proc environ or cmdline holds the
    store (a PostgreSQL password under .ci/run); the config file is 0600 in a 0700 folder and
    is gone once the server stops."""
    url = os.environ.get("SCREENING_TEST_POSTGRES_URL")
    if url:
        from urllib.parse import urlsplit

        secret = urlsplit(url).password or url
    else:  # a SQLite path standing in for the secret: the whole config must not travel in the environment
        pytest.importorskip("sqlalchemy")
        secret = "not-a-real-password-7f3a"
        url = str(tmp_path / secret / "decisions.sqlite")
        (tmp_path / secret).mkdir()
    # the test's own variable would be inherited by the server: the server is started without it
    monkeypatch.delenv("SCREENING_TEST_POSTGRES_URL", raising=False)
    with StubEHR(keys) as ehr:
        served = Served(ehr, 2, tmp_path, "--store", url)
        try:
            deadline = time.monotonic() + 30
            workers = _children(served.process.pid)
            while len(workers) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
                workers = _children(served.process.pid)
            assert len(workers) >= 2
            config_files = set()
            for pid in workers:
                environ = Path(f"/proc/{pid}/environ").read_bytes()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                assert secret.encode() not in environ and secret.encode() not in cmdline
                assert b"SCREENING_SERVICE_CONFIG=" not in environ
                entry = next(e for e in environ.split(b"\0") if e.startswith(b"SCREENING_SERVICE_CONFIG_FILE="))
                config_files.add(entry.split(b"=", 1)[1].decode())
            (path,) = config_files
            assert os.stat(path).st_mode & 0o777 == 0o600
            assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
            assert secret in Path(path).read_text()  # the workers did get it, through the file
        finally:
            served.stop()
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))
