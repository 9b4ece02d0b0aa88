"""The CDS Hooks service through the framework's test client: discovery, both hooks, a duo via
its appointment, prefetch and FHIR fetch (a stub FHIR server on 127.0.0.1), JWT good and bad,
every error code, feedback, and privacy across charts."""

from __future__ import annotations

import copy
import json
import logging
import subprocess
import sys
import time
import uuid

import pytest
import yaml

pytest.importorskip("fastapi")

from conftest import EXAMPLES
from fastapi.testclient import TestClient
from service_support import ISSUER, Keys, StubEHR, hook_request, responses_for, searchset
from test_cds_hooks import check_card

from screening import screen
from screening.errors import EngineError
from screening.interop.cds_hooks import RULE_EXTENSION
from screening.service import ServiceConfig, create_app
from screening.service import app as app_module

BASE = "http://testserver"
APPT = "/cds-services/screening-appointment"
VIEW = "/cds-services/screening-patient"
DUO = ["Patient/p1", "Patient/p2"]


@pytest.fixture(scope="module")
def duo_intake():
    return yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())


@pytest.fixture(scope="module")
def duo_responses(duo_intake):
    return responses_for(duo_intake, DUO)


def individual(duo_intake, index: int) -> dict:
    """One partner's answers as an individual intake (their own session, no relationship part)."""
    person = copy.deepcopy(duo_intake["participants"][index])
    person.pop("relationship", None)
    return {"session": dict(duo_intake["session"], format="individual"), "participants": [person]}


class Sink:
    def __init__(self):
        self.entries = []

    def record(self, entries):
        self.entries += entries


@pytest.fixture(scope="module")
def open_client():
    with TestClient(create_app(ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python")), base_url=BASE) as client:
        yield client


def flag_keys(report):
    """One card per finding: its main rule and that flag's participant, in the summary's order."""
    return [(f.rules[0].rule_id, f.rules[0].participant) for f in report.findings]


def card_keys(body):
    return [(c["extension"][RULE_EXTENSION]["rule_id"], c["extension"][RULE_EXTENSION]["participant"]) for c in body["cards"]]


# ---------------------------------------------------------------------------- discovery and hooks


def test_discovery_lists_both_services_with_their_prefetch_templates(open_client):
    services = {s["id"]: s for s in open_client.get("/cds-services").json()["services"]}
    assert {s["hook"] for s in services.values()} == {"appointment-book", "patient-view"}
    for service in services.values():
        assert service["description"] and service["title"]
        assert "{{context.patientId}}" in service["prefetch"]["intake"]
        assert service["prefetch"]["intake"].startswith("QuestionnaireResponse?subject=Patient/")


def test_a_duo_appointment_gives_the_clinician_every_card_of_the_duo_screening(open_client, duo_intake, duo_responses):
    body = hook_request("appointment-book", DUO[0], patients=DUO, prefetch={"intake": searchset(*duo_responses.values())})
    response = open_client.post(APPT, json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    expected = screen(duo_intake, engine="python")
    assert card_keys(result) == flag_keys(expected)
    assert any(f.subject == "pair" for f in expected.findings or [])  # its card goes to both patients (below)
    for card in result["cards"]:
        check_card(card)
        assert card["links"][0]["url"] == f"{BASE}/rules/{card['extension'][RULE_EXTENSION]['rule_id']}"
    about = result["extension"]["invalid.screening.report"]
    assert about["rulebook"]["sha256"] == expected.rulebook.sha256 and about["patients"] == DUO
    assert "decides nothing" in about["notice"] and None not in about.values()
    own = {"A": ["Patient/p1"], "B": ["Patient/p2"], "pair": DUO}
    subjects = set()
    by_id = {f.id: f for f in expected.findings or []}
    for card in result["cards"]:  # a finding about one person alone is on that person's patient only
        finding = card["extension"][RULE_EXTENSION]["finding"]
        subject = finding.split(":", 1)[0]
        subjects.add(subject)
        # a participant's finding that also covers a pair flag (both partners' answers) is on both patients
        pair_flag = any(r.participant == "pair" for r in by_id[finding].rules)
        if subject in own:
            assert card["extension"][RULE_EXTENSION]["patients"] == (DUO if pair_flag else own[subject]), subject
    assert {"A", "B", "pair"} <= subjects


def test_card_uuids_are_unique_per_hook_instance(open_client, duo_responses):
    prefetch = {"intake": searchset(*duo_responses.values())}
    one = hook_request("appointment-book", DUO[0], patients=DUO, prefetch=prefetch)
    uuids = [c["uuid"] for c in open_client.post(APPT, json=one).json()["cards"]]
    again = [c["uuid"] for c in open_client.post(APPT, json=one).json()["cards"]]
    other = [c["uuid"] for c in open_client.post(APPT, json=dict(one, hookInstance=str(uuid.uuid4()))).json()["cards"]]
    assert uuids == again and len(set(uuids)) == len(uuids)
    assert not set(uuids) & set(other)


def test_patient_view_screens_the_patients_own_individual_intake(open_client, duo_intake):
    own = individual(duo_intake, 1)
    (qr,) = responses_for(own, ["Patient/p2"]).values()
    response = open_client.post(VIEW, json=hook_request("patient-view", "Patient/p2", prefetch={"intake": qr}))
    assert response.status_code == 200
    assert card_keys(response.json()) == flag_keys(screen(own, engine="python")) != []


def test_the_latest_authored_response_is_screened_and_included_resources_are_ignored(open_client, duo_intake):
    old, new = individual(duo_intake, 0), individual(duo_intake, 1)
    (old_qr,) = responses_for(old, ["Patient/p1"]).values()
    (new_qr,) = responses_for(new, ["Patient/p1"]).values()
    new_qr["authored"] = "2026-11-25T10:00:00Z"
    bundle = searchset(old_qr, new_qr)
    bundle["entry"].append({"resource": {"resourceType": "OperationOutcome", "issue": []}, "search": {"mode": "outcome"}})
    response = open_client.post(VIEW, json=hook_request("patient-view", "Patient/p1", prefetch={"intake": bundle}))
    assert card_keys(response.json()) == flag_keys(screen(new, engine="python"))


def test_two_responses_that_cannot_be_told_apart_are_an_error_not_a_guess(open_client, duo_intake):
    (qr,) = responses_for(individual(duo_intake, 0), ["Patient/p1"]).values()
    second = dict(qr, id="qr-other")
    response = open_client.post(VIEW, json=hook_request("patient-view", "Patient/p1", prefetch={"intake": searchset(qr, second)}))
    assert response.status_code == 422 and "cannot be told" in response.text


# ---------------------------------------------------------------------------- privacy across charts


def test_patient_view_never_shows_the_partners_answers_either_way(open_client, duo_intake):
    """A careless client prefetches both people's responses; each chart shows only its own."""
    own = {p: individual(duo_intake, i) for i, p in enumerate(DUO)}
    qrs = {p: responses_for(own[p], [p])[p] for p in DUO}
    both = {"intake": searchset(*qrs.values())}
    bodies = {p: open_client.post(VIEW, json=hook_request("patient-view", p, prefetch=both)).json() for p in DUO}
    for me, other in (DUO, DUO[::-1]):
        assert card_keys(bodies[me]) == flag_keys(screen(own[me], engine="python"))
        assert bodies[me]["extension"]["invalid.screening.report"]["patients"] == [me]
        text = json.dumps(bodies[me])
        assert other not in text
        for med in own[other]["participants"][0]["medications"]:
            if all(med["name"] != m["name"] for m in own[me]["participants"][0]["medications"]):
                assert med["name"].split()[0] not in text


def test_a_duo_members_chart_gets_no_duo_screening_and_no_pair_card(open_client, duo_responses):
    """Pair cards rest on both people's answers: they appear on appointment-book only. The chart gets
    one card saying where the screening is (not a 412: CDS Hooks 2.0 keeps it for data that cannot be fetched)."""
    for patient in DUO:
        response = open_client.post(
            VIEW, json=hook_request("patient-view", patient, prefetch={"intake": searchset(*duo_responses.values())})
        )
        assert response.status_code == 200
        (card,) = response.json()["cards"]
        assert card["indicator"] == "info" and len(card["summary"]) < 140 and "uuid" not in card
        assert "appointment is booked" in card["summary"] and "extension" not in card
        assert not any(p in response.text for p in DUO)


def test_an_appointment_for_one_patient_cannot_screen_half_a_duo(open_client, duo_responses):
    body = hook_request("appointment-book", DUO[0], patients=[DUO[0]], prefetch={"intake": searchset(*duo_responses.values())})
    response = open_client.post(APPT, json=body)
    assert response.status_code == 422 and "one patient" in response.text


# ---------------------------------------------------------------------------- fetching from the FHIR server


def test_without_prefetch_the_service_fetches_each_response_with_the_clients_token(duo_intake, duo_responses):
    with StubEHR() as ehr:
        config = ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python", fhir_servers={"": [f"{ehr.url}/fhir"]})
        client = TestClient(create_app(config), base_url=BASE).__enter__()
        ehr.responses.update(duo_responses)
        body = hook_request("appointment-book", DUO[0], patients=DUO, fhir_server=f"{ehr.url}/fhir", fhir_token="fhir-token-1")
        response = client.post(APPT, json=body)
        assert response.status_code == 200, response.text
        assert card_keys(response.json()) == flag_keys(screen(duo_intake, engine="python"))
        assert sorted(p.split("subject=")[1].split("&")[0] for p, _ in ehr.requests) == DUO
        assert {auth for _, auth in ehr.requests} == {"Bearer fhir-token-1"}
        # with the partner's response prefetched only one is fetched
        ehr.requests.clear()
        body["prefetch"] = {"intake": searchset(duo_responses[DUO[1]])}
        assert client.post(APPT, json=body).status_code == 200
        assert [p.split("subject=")[1].split("&")[0] for p, _ in ehr.requests] == [DUO[0]]
        client.__exit__(None, None, None)


def test_what_cannot_be_found_is_named_with_412(duo_responses):
    with StubEHR() as ehr:
        config = ServiceConfig(
            public_url=BASE, insecure_no_auth=True, engine="python", fhir_timeout=0.5, fhir_servers={"": [f"{ehr.url}/fhir"]}
        )
        client = TestClient(create_app(config), base_url=BASE).__enter__()
        ehr.responses[DUO[0]] = duo_responses[DUO[0]]
        body = hook_request("appointment-book", DUO[0], patients=DUO, fhir_server=f"{ehr.url}/fhir", fhir_token="t")
        response = client.post(APPT, json=body)
        assert response.status_code == 412
        (issue,) = response.json()["issue"]
        assert issue["diagnostics"].startswith("Patient/p2: the FHIR server holds no completed intake response")
        ehr.status = 403  # the upstream status is not reflected (a port scanner otherwise)
        refused = client.post(APPT, json=body).text
        assert "no usable search result" in refused and "403" not in refused
        ehr.status, ehr.delay = 200, 1.5
        assert "did not answer in time" in client.post(APPT, json=body).text
        no_server = hook_request("appointment-book", DUO[0], patients=DUO)
        response = client.post(APPT, json=no_server)
        assert response.status_code == 412 and len(response.json()["issue"]) == 2
        client.__exit__(None, None, None)


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda b: b.update(hook="order-sign"), "hook"),
        (lambda b: b.update(hookInstance="not-a-uuid"), "hookInstance"),
        (lambda b: b["context"].pop("patientId"), "context.patientId"),
        (lambda b: b["context"].update(patientId="p9"), "context.patientId"),
        (lambda b: b.update(fhirAuthorization={"access_token": "x", "token_type": "Bearer"}), "fhirServer"),
        (lambda b: b["context"].update(appointments={"resourceType": "Bundle", "entry": []}), "context.appointments"),
        (lambda b: b.update(prefetch=[]), "prefetch"),
    ],
)
def test_an_invalid_hook_request_is_400_naming_the_field(open_client, change, field):
    body = hook_request("appointment-book", DUO[0], patients=DUO)
    change(body)
    response = open_client.post(APPT, json=body)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert response.json()["resourceType"] == "OperationOutcome" and issue["expression"] == [field]


def test_bad_json_unknown_service_and_oversized_bodies(duo_responses):
    config = ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python", max_body_bytes=20_000)
    with TestClient(create_app(config), base_url=BASE) as client:
        assert client.post(APPT, content=b"{not json", headers={"content-type": "application/json"}).status_code == 400
        assert client.post("/cds-services/nothing", json={}).json()["issue"][0]["code"] == "not-found"
        big = hook_request("appointment-book", DUO[0], patients=DUO, prefetch={"intake": searchset(*duo_responses.values())})
        big["extension"] = {"padding": "x" * 30_000}
        assert client.post(APPT, json=big).status_code == 413


def test_an_invalid_intake_is_422_naming_the_field_never_the_answer(open_client, duo_intake):
    (qr,) = responses_for(individual(duo_intake, 0), ["Patient/p1"]).values()
    for group in qr["item"]:
        for item in group.get("item", []):
            if item["linkId"] == "physical.systolic_bp":
                item["answer"] = [{"valueInteger": 77777}]
    response = open_client.post(VIEW, json=hook_request("patient-view", "Patient/p1", prefetch={"intake": qr}))
    assert response.status_code == 422
    assert "systolic_bp" in response.text and "77777" not in response.text


def test_an_engine_failure_is_500_with_no_cards(open_client, duo_responses, monkeypatch, caplog):
    def fail(*args, **kwargs):
        raise EngineError("durable_rules failed on rule x")

    monkeypatch.setattr(app_module, "screen", fail)
    body = hook_request("appointment-book", DUO[0], patients=DUO, prefetch={"intake": searchset(*duo_responses.values())})
    response = open_client.post(APPT, json=body)
    assert response.status_code == 500 and "cards" not in response.json()
    assert "fails closed" in response.json()["issue"][0]["diagnostics"]


def test_an_unexpected_failure_is_500_and_its_text_reaches_neither_body_nor_log(open_client, duo_responses, monkeypatch, caplog):
    def fail(*args, **kwargs):
        raise RuntimeError("answer-152-over-94")

    monkeypatch.setattr(app_module, "screen", fail)
    body = hook_request("appointment-book", DUO[0], patients=DUO, prefetch={"intake": searchset(*duo_responses.values())})
    with caplog.at_level(logging.DEBUG):
        response = open_client.post(APPT, json=body)
    assert response.status_code == 500 and "cards" not in response.json()
    assert "answer-152" not in response.text and "answer-152" not in caplog.text
    assert "RuntimeError" in caplog.text


# ---------------------------------------------------------------------------- authentication


@pytest.fixture(scope="module")
def keys():
    return Keys()


@pytest.fixture(scope="module")
def secured(keys):
    with StubEHR(keys) as ehr:
        config = ServiceConfig(public_url=BASE, trusted_issuers={ISSUER: f"{ehr.url}/jwks.json"}, engine="python")
        with TestClient(create_app(config), base_url=BASE) as client:
            yield client


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_signed_token_from_a_trusted_issuer_is_accepted(secured, keys, duo_responses):
    assert secured.get("/cds-services", headers=bearer(keys.token(f"{BASE}/cds-services"))).status_code == 200
    body = hook_request("appointment-book", DUO[0], patients=DUO, prefetch={"intake": searchset(*duo_responses.values())})
    assert secured.post(APPT, json=body, headers=bearer(keys.token([f"{BASE}{APPT}"]))).status_code == 200


def test_rule_pages_linked_from_cards_need_no_token(secured):
    page = secured.get("/rules/setting.no-sober-facilitator")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/markdown")
    assert "setting.no-sober-facilitator" in page.text
    assert secured.get("/rules/nothing.here").status_code == 404


def _hmac_token(aud):
    import jwt

    now = int(time.time())
    return jwt.encode(
        {"iss": ISSUER, "aud": aud, "iat": now, "exp": now + 60, "jti": "x"},
        "a-shared-secret-that-is-long-enough",
        algorithm="HS256",
        headers={"kid": "test-key-1"},
    )


@pytest.mark.parametrize(
    "make, says",
    [
        (lambda k, aud: None, "bearer token"),
        (lambda k, aud: "not.a.jwt", "not a JWT"),
        (lambda k, aud: k.token(f"{BASE}/cds-services/other"), "aud"),
        (lambda k, aud: k.token(aud, exp=int(time.time()) - 120, iat=int(time.time()) - 180), "expired"),
        (lambda k, aud: k.token(aud, iat=int(time.time()) + 300, exp=int(time.time()) + 400), "iat"),
        (lambda k, aud: k.token(aud, iss="https://someone-else.invalid"), "not trusted"),
        (lambda k, aud: k.token(aud, jti=None), "jti"),
        (lambda k, aud: k.token(aud, exp=int(time.time()) + 7200), "longer than"),
        (lambda k, aud: k.token(aud, headers={"kid": "unknown-kid"}), "kid"),
        (lambda k, aud: Keys(kid=k.kid).token(aud), "signature"),
        (lambda k, aud: _hmac_token(aud), "asymmetric"),
        (lambda k, aud: k.token(aud, iat=str(int(time.time()))), "iat"),  # issue 26: a 500 before
        (lambda k, aud: k.token(aud, exp=str(int(time.time()) + 60)), "exp"),
    ],
)
def test_a_bad_token_is_refused_with_401(secured, keys, make, says):
    token = make(keys, f"{BASE}/cds-services")
    response = secured.get("/cds-services", headers=bearer(token) if token else {})
    assert response.status_code == 401
    assert says in response.json()["issue"][0]["diagnostics"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    if token:
        assert token not in response.text


def test_a_replayed_token_is_refused(secured, keys):
    token = keys.token(f"{BASE}/cds-services")
    assert secured.get("/cds-services", headers=bearer(token)).status_code == 200
    again = secured.get("/cds-services", headers=bearer(token))
    assert again.status_code == 401 and "replay" in again.text


def test_the_service_refuses_to_start_without_trusted_issuers():
    with pytest.raises(ValueError, match="--insecure-no-auth"):
        create_app(ServiceConfig())


def test_serve_usage_errors_are_one_line_and_exit_2(capsys):
    from screening.cli.commands import main

    assert main(["serve", "--trust", "no-equals-sign"]) == 2
    assert main(["serve", "--insecure-no-auth", "--ssl-certfile", "cert.pem"]) == 2
    assert main(["serve", "--public-url", "ftp://x", "--insecure-no-auth"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("screening: ") for line in lines)


# ---------------------------------------------------------------------------- feedback


@pytest.fixture
def with_sink():
    sink = Sink()
    with TestClient(
        create_app(ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python"), decisions=sink), base_url=BASE
    ) as client:
        yield client, sink


def _cards(client, duo_responses):
    body = hook_request("appointment-book", DUO[0], patients=DUO, prefetch={"intake": searchset(*duo_responses.values())})
    return client.post(APPT, json=body).json()["cards"], body["hookInstance"]


def test_overridden_feedback_with_the_cards_reason_reaches_the_decisions_sink(with_sink, duo_responses):
    client, sink = with_sink
    cards, instance = _cards(client, duo_responses)
    first, second = cards[0], cards[-1]
    reason = first["overrideReasons"][1]
    feedback = {
        "feedback": [
            {
                "card": first["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": reason, "userComment": "Discussed at intake."},
                "outcomeTimestamp": "2026-12-01T10:00:00Z",
            },
            {  # a reason the EHR added (CDS Hooks 2.0 §"Card Attributes": a client MAY augment the list)
                "card": second["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": {"system": "https://ehr.example.org/reasons", "code": "seen-by-cardiology"}},
                "outcomeTimestamp": "2026-12-01T10:01:00Z",
            },
        ]
    }
    response = client.post(f"{APPT}/feedback", json=feedback)
    assert response.status_code == 200 and "kept" in response.text
    one, two = sink.entries
    ext = first["extension"][RULE_EXTENSION]
    assert (one.card_uuid, one.rule_id, one.participant, one.outcome) == (
        first["uuid"],
        ext["rule_id"],
        ext["participant"],
        "overridden",
    )
    assert one.override_reason == {"system": reason["system"], "code": reason["code"], "display": reason["display"]}
    assert one.user_comment == "Discussed at intake." and one.hook_instance == instance and len(one.report_id) == 64
    assert one.outcome_time.isoformat() == "2026-12-01T10:00:00+00:00" and list(one.patients) == ext["patients"]
    assert one.reviewer == "Practitioner/clin-1" and one.reason_offered  # the user the card was shown to
    assert two.outcome == "overridden" and not two.reason_offered
    assert two.override_reason == {"system": "https://ehr.example.org/reasons", "code": "seen-by-cardiology"}


@pytest.mark.parametrize(
    "change, status, says",
    [
        (lambda e, c: e.update(card=str(uuid.uuid4())), 404, "no such card"),
        (lambda e, c: e.update(outcome="ignored"), 422, "outcome"),
        (lambda e, c: e.update(overrideReason={"reason": {"code": "made-up"}}), 422, "a system and a code"),
        (lambda e, c: e.update(overrideReason={}), 422, "a reason (a Coding) or a userComment"),
        (lambda e, c: e.update(outcome="accepted"), 422, "needs acceptedSuggestions"),  # stored as "noted" before
        (lambda e, c: e.update(outcome="accepted", acceptedSuggestions=[{"id": "x"}]), 422, "no suggestions"),
        (lambda e, c: e.pop("outcomeTimestamp"), 422, "outcomeTimestamp"),
        (lambda e, c: e.update(outcomeTimestamp="2026-12-01T10:00:00"), 422, "time zone"),
        (lambda e, c: e.update(outcomeTimestamp="9999-12-31T23:59:59-01:00"), 422, "out of range"),  # a 500 before
    ],
)
def test_invalid_feedback_is_refused_and_nothing_is_kept(with_sink, duo_responses, change, status, says):
    client, sink = with_sink
    cards, _ = _cards(client, duo_responses)
    good = {"card": cards[1]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
    bad = {"card": cards[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
    change(bad, cards[0])
    response = client.post(f"{APPT}/feedback", json={"feedback": [good, bad]})
    assert response.status_code == status and says in response.text
    assert sink.entries == []


def test_feedback_for_a_card_of_another_service_is_not_found(with_sink, duo_responses):
    client, _ = with_sink
    cards, _ = _cards(client, duo_responses)
    entry = {"card": cards[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
    assert client.post(f"{VIEW}/feedback", json={"feedback": [entry]}).status_code == 404


def test_without_a_store_feedback_is_validated_and_acknowledged_but_not_kept(open_client, duo_responses):
    cards, _ = _cards(open_client, duo_responses)
    entry = {"card": cards[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
    response = open_client.post(f"{APPT}/feedback", json={"feedback": [entry]})
    assert response.status_code == 200 and "not kept" in response.text


# ---------------------------------------------------------------------------- an optional extra


def test_the_core_does_not_import_the_service():
    code = "import sys, screening; screening.screen; import screening.cli.commands; print('screening.service' in sys.modules, 'fastapi' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == [
        "False",
        "False",
    ]


def test_serve_without_the_extra_says_what_to_install_in_one_line():
    code = "import sys; sys.modules['fastapi'] = None; from screening.cli.commands import main; sys.exit(main(['serve', '--insecure-no-auth']))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "screening: the CDS Hooks service needs the optional extra: pip install 'screening[service]'"
    ]


def test_workers_sharing_a_state_file_see_each_others_cards_and_tokens(tmp_path, keys, duo_responses):
    """Two apps on one state file stand for two workers: feedback and replays cross between them."""
    with StubEHR(keys) as ehr:
        config = ServiceConfig(
            public_url=BASE,
            trusted_issuers={ISSUER: f"{ehr.url}/jwks.json"},
            engine="python",
            state_path=str(tmp_path / "state.sqlite"),
        )
        with TestClient(create_app(config), base_url=BASE) as one, TestClient(create_app(config), base_url=BASE) as two:
            body = hook_request("appointment-book", DUO[0], patients=DUO, prefetch={"intake": searchset(*duo_responses.values())})
            cards = one.post(APPT, json=body, headers=bearer(keys.token(f"{BASE}{APPT}"))).json()["cards"]
            entry = {"card": cards[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
            assert (
                two.post(
                    f"{APPT}/feedback", json={"feedback": [entry]}, headers=bearer(keys.token(f"{BASE}{APPT}/feedback"))
                ).status_code
                == 200
            )
            token = keys.token(f"{BASE}/cds-services")
            assert one.get("/cds-services", headers=bearer(token)).status_code == 200
            assert two.get("/cds-services", headers=bearer(token)).status_code == 401


def test_the_committed_cds_hooks_examples_are_what_the_service_says_now():
    from conftest import ROOT

    from screening.service.examples import build

    folder = EXAMPLES / "cds-hooks"
    for name, text in build(ROOT).items():
        assert (folder / name).read_text(encoding="utf-8") == text, (
            f"examples/cds-hooks/{name} is stale: run python -m screening.service.examples"
        )
    response = json.loads((folder / "duo-appointment-book-response.json").read_text())
    assert response["cards"] and all(check_card(c) is None for c in response["cards"])


# ---------------------------------------------------------------------------- properties

from hypothesis import HealthCheck, given, settings
from strategies import TODAY, intakes


@pytest.fixture(scope="module")
def dated_client():
    config = ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python", today=TODAY)
    with TestClient(create_app(config), base_url=BASE) as client:
        yield client


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(intake=intakes())
def test_any_intake_through_its_hook_gives_exactly_the_screenings_flags_each_card_on_its_own_patients(dated_client, intake):
    duo = intake["session"]["format"] == "duo"
    patients = DUO if duo else DUO[:1]
    qrs = responses_for(intake, patients)
    if duo:
        path, body = APPT, hook_request("appointment-book", DUO[1], patients=DUO, prefetch={"intake": searchset(*qrs.values())})
    else:
        path, body = VIEW, hook_request("patient-view", DUO[0], prefetch={"intake": qrs[DUO[0]]})
    response = dated_client.post(path, json=body)
    assert response.status_code == 200, response.text
    # what FHIR carries: a follow-up whose question the Questionnaire disables is left out
    from screening.interop.fhir import intake_from_fhir, response_from_intake

    report = screen(intake_from_fhir(response_from_intake(intake), today=TODAY), engine="python", today=TODAY)
    assert card_keys(response.json()) == flag_keys(report)
    whose = {p["participant_id"]: patient for p, patient in zip(intake["participants"], patients)}
    uuids = set()
    for card, finding in zip(response.json()["cards"], report.findings, strict=True):
        assert card["extension"][RULE_EXTENSION]["patients"] == sorted(whose[p] for p in finding.participants)
        uuids.add(card["uuid"])
    assert len(uuids) == len(report.findings)
