"""Write examples/cds-hooks/: a discovery response, a duo appointment-book request, its response.

    python -m screening.service.examples [OUT]      (default: examples/cds-hooks)

The request is built from examples/duo-mdma.yaml (each partner's own QuestionnaireResponse,
prefetched) and answered by the real app in-process, so the files show exactly what the service
says; a test regenerates them and fails when the committed ones are stale.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from ..interop.fhir import response_from_intake
from .app import ServiceConfig, create_app

__all__ = ["build", "main"]

PUBLIC_URL = "https://cds.example.org"
HOOK_INSTANCE = "6f1c2b9e-3d4a-4c8e-9a57-2b1f0e7d6c11"
PATIENTS = ("Patient/duo-partner-1", "Patient/duo-partner-2")


def _request(intake: dict[str, Any]) -> dict[str, Any]:
    bundle = response_from_intake(intake)
    entries = []
    for index, (patient, entry) in enumerate(zip(PATIENTS, bundle["entry"])):
        response = copy.deepcopy(entry["resource"])
        response.update(id=f"intake-{index + 1}", subject={"reference": patient}, authored="2027-01-02T10:00:00Z")
        entries.append(
            {
                "fullUrl": f"https://ehr.example.org/fhir/QuestionnaireResponse/intake-{index + 1}",
                "resource": response,
                "search": {"mode": "match"},
            }
        )
    appointment = {
        "resourceType": "Appointment",
        "id": "duo-session-1",
        "status": "proposed",
        "description": "Duo MDMA-assisted session",
        "start": "2027-01-15T09:00:00Z",
        "end": "2027-01-15T17:00:00Z",
        "participant": [{"actor": {"reference": p}, "status": "accepted"} for p in PATIENTS]
        + [{"actor": {"reference": "Practitioner/clinician-1"}, "status": "accepted"}],
    }
    return {
        "hook": "appointment-book",
        "hookInstance": HOOK_INSTANCE,
        "fhirServer": "https://ehr.example.org/fhir",
        "context": {
            "userId": "Practitioner/clinician-1",
            "patientId": PATIENTS[0].split("/")[1],
            "appointments": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": appointment}]},
        },
        "prefetch": {"intake": {"resourceType": "Bundle", "type": "searchset", "total": 2, "entry": entries}},
    }


def build(root: Path) -> dict[str, str]:
    """File name -> content, for the examples folder."""
    from fastapi.testclient import TestClient

    intake = yaml.safe_load((root / "examples" / "duo-mdma.yaml").read_text(encoding="utf-8"))
    request = _request(intake)
    app = create_app(ServiceConfig(public_url=PUBLIC_URL, insecure_no_auth=True, engine="python"))
    with TestClient(app, base_url=PUBLIC_URL) as client:
        discovery = client.get("/cds-services").json()
        answer = client.post("/cds-services/screening-appointment", json=request)
        answer.raise_for_status()
    return {
        "discovery.json": _dump(discovery),
        "duo-appointment-book-request.json": _dump(request),
        "duo-appointment-book-response.json": _dump(answer.json()),
    }


def _dump(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parents[3]
    out = Path(args[0]) if args else root / "examples" / "cds-hooks"
    out.mkdir(parents=True, exist_ok=True)
    files = build(root)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
