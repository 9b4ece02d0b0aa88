"""CDS Hooks feedback through the real service endpoint into the decisions store: accepted is
noted, overridden is overridden with the card's reason; the chain verifies afterwards."""

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("screening.service")

import yaml
from conftest import EXAMPLES
from fastapi.testclient import TestClient
from service_support import hook_request, responses_for, searchset
from store_support import store, store_url  # noqa: F401 (fixtures)
from test_service import APPT, BASE, DUO

from screening.decisions.store.feedback import StoreFeedbackSink
from screening.service import ServiceConfig, create_app


def test_feedback_through_the_endpoint_is_recorded_in_the_store(store):
    sink = StoreFeedbackSink(store)
    app = create_app(ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python"), decisions=sink)
    responses = responses_for(yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text()), DUO)
    with TestClient(app, base_url=BASE) as client:
        body = hook_request("appointment-book", DUO[0], patients=DUO, prefetch={"intake": searchset(*responses.values())})
        cards = client.post(APPT, json=body).json()["cards"]
        first, last = cards[0], cards[-1]
        reason = first["overrideReasons"][1]
        feedback = {
            "feedback": [
                {
                    "card": first["uuid"],
                    "outcome": "overridden",
                    "overrideReason": {"reason": reason, "userComment": "Discussed at intake."},
                    "outcomeTimestamp": "2026-12-01T10:00:00Z",
                },
            ]
        }
        response = client.post(f"{APPT}/feedback", json=feedback)
        # 'accepted' needs acceptedSuggestions (CDS Hooks 2.0, Feedback), and these cards offer none: refused, nothing recorded
        accepted = {"feedback": [{"card": last["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:01:00Z"}]}
        refused = client.post(f"{APPT}/feedback", json=accepted)
    assert response.status_code == 200, response.text
    assert refused.status_code == 422 and "acceptedSuggestions" in refused.text
    records = store.audit_log()
    assert len(records) == 1, (
        "service/app.py must hand each screened report to the sink "
        "(decisions.add_report(report, book)) so feedback can be checked against it"
    )
    (overridden,) = records
    assert (overridden.outcome, overridden.reason, overridden.reason_display) == ("overridden", reason["code"], reason["display"])
    assert overridden.note == "Discussed at intake." and overridden.decided_at.isoformat() == "2026-12-01T10:00:00+00:00"
    assert store.verify().ok
