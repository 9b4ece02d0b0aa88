"""What the service tests share: signing keys and JWTs, hook requests built from intakes, and a
tiny FHIR + JWK Set server on 127.0.0.1 that stands in for an EHR (no FHIR server can be
installed here)."""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from screening.interop.fhir import QUESTIONNAIRE_URL, response_from_intake

ISSUER = "https://ehr.test.invalid"


class Keys:
    """An EC P-384 key pair (ES384, as CDS Hooks recommends) and its public JWK Set."""

    def __init__(self, kid: str = "test-key-1"):
        self.kid = kid
        self.private = ec.generate_private_key(ec.SECP384R1())
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        self.jwks = {"keys": [dict(public, kid=kid, use="sig", alg="ES384")]}

    def token(self, aud: str, iss: str = ISSUER, headers: dict | None = None, **claims) -> str:
        now = int(time.time())
        payload = {"iss": iss, "aud": aud, "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, self.private, algorithm="ES384", headers={"kid": self.kid, "typ": "JWT", **(headers or {})})


def responses_for(intake: dict, patients: list[str]) -> dict[str, dict]:
    """Each participant's own QuestionnaireResponse, as the EHR stores it: subject, id, authored."""
    resource = response_from_intake(intake)
    found = [e["resource"] for e in resource["entry"]] if resource["resourceType"] == "Bundle" else [resource]
    out = {}
    for index, (patient, response) in enumerate(zip(patients, found)):
        response = copy.deepcopy(response)
        response.update(id=f"qr-{index}", subject={"reference": patient}, authored="2026-11-20T10:00:00Z")
        out[patient] = response
    return out


def searchset(*responses: dict) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(responses),
        "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r, "search": {"mode": "match"}} for r in responses],
    }


def appointment(patients: list[str]) -> dict:
    participants = [{"actor": {"reference": p}, "status": "accepted"} for p in patients]
    participants.append({"actor": {"reference": "Practitioner/clin-1"}, "status": "accepted"})
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Appointment",
                    "id": "appt-1",
                    "status": "proposed",
                    "participant": participants,
                    "start": "2027-01-15T09:00:00Z",
                    "end": "2027-01-15T17:00:00Z",
                }
            }
        ],
    }


def hook_request(
    hook: str,
    patient: str,
    *,
    patients: list[str] | None = None,
    prefetch: dict | None = None,
    fhir_server: str | None = None,
    fhir_token: str | None = None,
    hook_instance: str | None = None,
) -> dict:
    context = {"userId": "Practitioner/clin-1", "patientId": patient.split("/")[1]}
    if hook == "appointment-book":
        context["appointments"] = appointment(patients or [patient])
    body = {"hook": hook, "hookInstance": hook_instance or str(uuid.uuid4()), "context": context}
    if prefetch is not None:
        body["prefetch"] = prefetch
    if fhir_server:
        body["fhirServer"] = fhir_server
    if fhir_token:
        body["fhirAuthorization"] = {
            "access_token": fhir_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/QuestionnaireResponse.read",
            "subject": "screening",
        }
    return body


class _StubServer(ThreadingHTTPServer):
    """Closing waits for requests still being answered, and a client that hung up (the service
    timed out on a slow answer) is not an error: otherwise the late BrokenPipe traceback lands
    in whichever test runs a second later."""

    daemon_threads = False  # so server_close() joins the threads still answering

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StubEHR:
    """A FHIR endpoint and a JWK Set on a free port; records each FHIR request it gets."""

    def __init__(self, keys: Keys | None = None):
        self.keys = keys
        self.responses: dict[str, dict] = {}  # patient reference -> QuestionnaireResponse
        self.requests: list[tuple[str, str | None]] = []
        self.status = 200
        self.delay = 0.0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a connection that never sends a request cannot hold up closing

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                if url.path == "/jwks.json" and stub.keys:
                    return self._send(200, stub.keys.jwks)
                if url.path == "/fhir/QuestionnaireResponse":
                    stub.requests.append((self.path, self.headers.get("Authorization")))
                    if stub.delay:
                        time.sleep(stub.delay)
                    if stub.status != 200:
                        return self._send(
                            stub.status,
                            {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden"}]},
                        )
                    query = parse_qs(url.query)
                    if query.get("questionnaire") != [QUESTIONNAIRE_URL]:
                        return self._send(200, searchset())
                    subject = query.get("subject", [""])[0]
                    found = [stub.responses[subject]] if subject in stub.responses else []
                    return self._send(200, searchset(*found))
                return self._send(
                    404, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}
                )

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = _StubServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
