"""Load on the CDS Hooks service over loopback: throughput, p50/p99 latency and errors.

    .venv/bin/python benchmarks/service.py [--requests 10000] [--clients 16] [--workers 1 2]

For each worker count it starts `screening serve` on a free 127.0.0.1 port, trusting a JWK Set
served by this script, and sends the duo appointment-book request of examples/cds-hooks/ (two
prefetched QuestionnaireResponses, about 47 kB) from concurrent clients, each call with its own
ES384 JWT signed by the client just before it (outside each call's latency, inside the run's
time). The load is bounded in count and in time, and goes only to 127.0.0.1. The client runs on the same machine, so it takes CPU from the server:
the figures are a floor for a server with its own cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parents[1]
ISSUER = "https://ehr.bench.invalid"
PATH = "/cds-services/screening-appointment"
TIME_LIMIT = 1500.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jwks_server(jwks: dict) -> ThreadingHTTPServer:
    body = json.dumps(jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start(workers: int, jwks_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "screening",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--trust",
        f"{ISSUER}={jwks_url}",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.3)
    stop(process)
    raise SystemExit("screening serve did not start")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def load(base: str, sign, count: int, body: bytes, clients: int) -> tuple[list[float], dict[int, int], float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(range(count))
    deadline = time.monotonic() + TIME_LIMIT
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def one_client():
            for _ in queue:
                if time.monotonic() > deadline:
                    return
                # signed just before sending (outside the timed span): tokens live 2 minutes
                headers = {"Authorization": f"Bearer {sign()}", "Content-Type": "application/json"}
                began = time.perf_counter()
                try:
                    response = await client.post(PATH, content=body, headers=headers)
                    status = response.status_code
                    if status == 200 and not response.json()["cards"]:
                        status = -1  # a 200 without cards for this intake would be wrong
                except httpx.HTTPError:
                    status = 0
                latencies.append(time.perf_counter() - began)
                statuses[status] = statuses.get(status, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        return latencies, statuses, time.perf_counter() - began


def run(workers: int, requests: int, clients: int, key, kid: str, jwks_url: str, body: bytes) -> dict:
    process, base = start(workers, jwks_url)
    try:

        def sign() -> str:
            now = int(time.time())
            claims = {"iss": ISSUER, "aud": base + PATH, "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())}
            return jwt.encode(claims, key, algorithm="ES384", headers={"kid": kid})

        asyncio.run(load(base, sign, 300, body, clients))  # warm-up: every worker compiles and caches
        latencies, statuses, elapsed = asyncio.run(load(base, sign, requests, body, clients))
    finally:
        stop(process)
    latencies.sort()
    done = len(latencies)
    return {
        "workers": workers,
        "requests": done,
        "clients": clients,
        "seconds": round(elapsed, 1),
        "throughput": round(done / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[min(done - 1, int(done * 0.99))] * 1000, 1),
        "errors": done - statuses.get(200, 0),
        "statuses": statuses,
    }


def breakdown(body: bytes, repeat: int = 50) -> dict[str, float]:
    """Median ms of each step of one duo call, in this process: where a request's time goes."""
    from screening import screen
    from screening.interop.cds_hooks import cards
    from screening.interop.fhir import intake_from_fhir
    from screening.interop.fhir_structure import check_structure
    from screening.service.hooks import responses_in

    def median_ms(step) -> float:
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            step()
            times.append(time.perf_counter() - began)
        return round(statistics.median(times) * 1000, 2)

    request = json.loads(body)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in responses_in(request["prefetch"]["intake"])],
    }
    intake = intake_from_fhir(bundle)
    report = screen(intake)
    return {
        "read the JSON body": median_ms(lambda: json.loads(body)),
        "FHIR structure check (typed models of what is read)": median_ms(lambda: check_structure(bundle, "Bundle")),
        "responses -> intake, all of intake_from_fhir": median_ms(lambda: intake_from_fhir(bundle)),
        "screen() (default engine)": median_ms(lambda: screen(intake)),
        "cards": median_ms(lambda: cards(report, hook_instance="x", patients={"A": "Patient/1", "B": "Patient/2"})),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    key = ec.generate_private_key(ec.SECP384R1())
    kid = "bench-key"
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    server = jwks_server({"keys": [dict(public, kid=kid, use="sig", alg="ES384")]})
    jwks_url = f"http://127.0.0.1:{server.server_port}/jwks.json"
    request = json.loads((ROOT / "examples" / "cds-hooks" / "duo-appointment-book-request.json").read_text())
    request.pop("fhirServer", None)  # everything is prefetched: no FHIR calls in the loop
    body = json.dumps(request).encode()
    print(
        f"duo appointment-book request: {len(body):,} bytes; {args.requests:,} requests from {args.clients} concurrent clients; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}"
    )
    for step, ms in breakdown(body).items():
        print(f"  {step}: {ms} ms (median, in process)")
    rows = []
    try:
        for workers in args.workers:
            result = run(workers, args.requests, args.clients, key, kid, jwks_url, body)
            rows.append(result)
            print(json.dumps(result))
    finally:
        server.shutdown()
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    print()
    print("| workers | requests | throughput (req/s) | p50 | p99 | errors |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['workers']} | {r['requests']:,} | {r['throughput']:,} | {r['p50_ms']} ms | {r['p99_ms']} ms | {r['errors']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
