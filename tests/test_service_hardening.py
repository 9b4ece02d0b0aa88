"""The CDS Hooks service against the defects of issue 26, each reproduction a test: stale
intakes picked by text order, programs that would not start, other programs' Questionnaires,
answers in error bodies, rebound cards, SSRF and unbounded fetches, a blocked event loop, and
what CDS Hooks 2.0 says of CORS, feedback and status codes."""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

pytest.importorskip("fastapi")

from conftest import EXAMPLES
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from service_support import hook_request, responses_for, searchset

from screening import screen
from screening.interop.cds_hooks import RULE_EXTENSION
from screening.interop.fhir import program_questionnaire_url, response_from_intake
from screening.service import ServiceConfig, create_app
from screening.service.hooks import instant_span

BASE = "http://testserver"
APPT = "/cds-services/screening-appointment"
VIEW = "/cds-services/screening-patient"


@pytest.fixture(scope="module")
def duo_intake():
    return yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())


@pytest.fixture(scope="module")
def open_client():
    with TestClient(create_app(ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python")), base_url=BASE) as client:
        yield client


def individual(duo_intake, index: int) -> dict:
    person = copy.deepcopy(duo_intake["participants"][index])
    person.pop("relationship", None)
    return {"session": dict(duo_intake["session"], format="individual"), "participants": [person]}


def card_rules(body) -> set[str]:
    return {c["extension"][RULE_EXTENSION]["rule_id"] for c in body["cards"]}


# ---------------------------------------------------------------------------- 1. time is time


def with_blood_pressure(intake: dict, systolic: int, diastolic: int) -> dict:
    intake = copy.deepcopy(intake)
    cardio = intake["participants"][0].setdefault("physical", {})
    cardio.update(systolic_bp=systolic, diastolic_bp=diastolic)
    return intake


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("2026-11-20T11:00:00+02:00", "2026-11-20T10:00:00Z"),  # 09:00 UTC is older, sorts after as text
        ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00.500Z"),  # a fraction is later
        ("2026-11-19", "2026-11-21T10:00:00Z"),  # a whole day, before in every zone
    ],
)
def test_the_latest_response_is_screened_whatever_its_time_zone(open_client, duo_intake, older, newer):
    """Reproduction 1: the older response (BP 118/76) must not hide the newer one (185/112)."""
    base = individual(duo_intake, 0)
    calm, high = with_blood_pressure(base, 118, 76), with_blood_pressure(base, 185, 112)
    (old_qr,) = responses_for(calm, ["Patient/p1"]).values()
    (new_qr,) = responses_for(high, ["Patient/p1"]).values()
    old_qr["authored"], new_qr["authored"] = older, newer
    old_qr["id"] = "qr-old"
    expected = card_rules({"cards": []}) | {f.rules[0].rule_id for f in screen(high, engine="python").findings}
    for order in ((old_qr, new_qr), (new_qr, old_qr)):
        response = open_client.post(VIEW, json=hook_request("patient-view", "Patient/p1", prefetch={"intake": searchset(*order)}))
        assert response.status_code == 200, response.text
        assert card_rules(response.json()) == expected
        assert any(c["indicator"] == "critical" for c in response.json()["cards"])


@pytest.mark.parametrize(
    "pair",
    [
        ("2026-11-20", "2026-11-20T10:00:00Z"),  # a day that holds the other time
        ("2026-11-20T12:00:00+02:00", "2026-11-20T10:00:00Z"),  # the same instant
        ("2026-11", "2026-11-20T10:00:00Z"),
        ("not a date", "2026-11-20T10:00:00Z"),
        ("2026-11-20T10:00:00", "2026-11-20T11:00:00Z"),  # a time without a zone is not a FHIR dateTime
    ],
)
def test_responses_that_cannot_be_ordered_are_refused_naming_the_patient(open_client, duo_intake, pair):
    (qr,) = responses_for(individual(duo_intake, 0), ["Patient/p1"]).values()
    first, second = dict(qr, authored=pair[0]), dict(qr, id="qr-other", authored=pair[1])
    response = open_client.post(
        VIEW, json=hook_request("patient-view", "Patient/p1", prefetch={"intake": searchset(first, second)})
    )
    assert response.status_code == 422, response.text
    assert "Patient/p1" in response.text and "cannot be told" in response.text


@given(st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2100, 1, 1), timezones=st.timezones()))
def test_an_instant_is_read_as_the_same_time_in_any_written_form(moment):
    try:
        offset = moment.utcoffset()
    except Exception:  # noqa: BLE001 - a zone hypothesis builds that cannot say its offset
        return
    if offset is None or offset.seconds % 60:
        return
    written = moment.isoformat(timespec="microseconds")
    span = instant_span(written)
    assert span is not None and span[0] == moment.astimezone(dt.UTC)
    utc = moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    assert instant_span(utc) == span


# ---------------------------------------------------------------------------- 2, 3. every program served

PROGRAMS = sorted(p.stem for p in (Path(__file__).parents[1] / "rules" / "programs").glob("*.yaml"))


def own_response(intake: dict, patient: str, *, program: str | None = None, base: str | None = None) -> dict:
    """One person's response as their EHR keeps it, to a program's Questionnaire under a base."""
    response = response_from_intake(intake, base=base)
    response.update(id="qr-1", subject={"reference": patient}, authored="2026-11-20T10:00:00Z")
    response["questionnaire"] = program_questionnaire_url(program, base)
    return response


@pytest.mark.parametrize("program", PROGRAMS)
def test_the_service_starts_and_screens_under_every_shipped_program(program, duo_intake):
    """Reproduction 2: the app re-checked each program against a rulebook already compiled for one."""
    app = create_app(ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python", program=program))
    own = individual(duo_intake, 0)
    with TestClient(app, base_url=BASE) as client:
        services = client.get("/cds-services").json()["services"]
        assert all(program_questionnaire_url(program) in s["prefetch"]["intake"] for s in services)
        qr = own_response(own, "Patient/p1", program=program)
        response = client.post(VIEW, json=hook_request("patient-view", "Patient/p1", prefetch={"intake": qr}))
        assert response.status_code in (200, 422), response.text  # 422: a program may require answers this intake lacks
        if response.status_code == 200:
            about = response.json()["extension"]["invalid.screening.report"]
            assert about["program"]["id"] == program
            rule = response.json()["cards"][0]["extension"][RULE_EXTENSION]["rule_id"] if response.json()["cards"] else None
            if rule:
                assert client.get(f"/rules/{rule}").status_code == 200
        else:
            assert "required" in response.text


def test_a_response_to_another_programs_questionnaire_is_refused_naming_the_program(duo_intake):
    """Reproduction 3: never re-read under another program's rules without a word."""
    own = individual(duo_intake, 0)
    app = create_app(ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python"))
    with TestClient(app, base_url=BASE) as client:
        for named, said in (("oregon-ops", "'oregon-ops'"), ("made-up", "'made-up'")):
            qr = own_response(own, "Patient/p1", program=named)
            response = client.post(VIEW, json=hook_request("patient-view", "Patient/p1", prefetch={"intake": qr}))
            assert response.status_code == 422 and said in response.text and "questionnaire" in response.text
        qr = own_response(own, "Patient/p1")
        qr["questionnaire"] = program_questionnaire_url(None) + "-"
        response = client.post(VIEW, json=hook_request("patient-view", "Patient/p1", prefetch={"intake": qr}))
        assert response.status_code == 422 and "another questionnaire" in response.text


def test_responses_under_a_sites_own_base_are_read_with_fhir_base(duo_intake):
    own = individual(duo_intake, 0)
    site = "https://forms.example.org/fhir"
    qr = own_response(own, "Patient/p1", base=site)
    body = hook_request("patient-view", "Patient/p1", prefetch={"intake": qr})
    with TestClient(create_app(ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python")), base_url=BASE) as plain:
        assert plain.post(VIEW, json=body).status_code == 412  # not this service's Questionnaire: no intake found
    config = ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python", fhir_base=site)
    with TestClient(create_app(config), base_url=BASE) as client:
        assert site in client.get("/cds-services").json()["services"][0]["prefetch"]["intake"]
        response = client.post(VIEW, json=body)
        assert response.status_code == 200, response.text
        assert card_rules(response.json()) == {f.rules[0].rule_id for f in screen(own, engine="python").findings}


def test_screen_refuses_a_fhir_file_answering_another_programs_questionnaire(duo_intake, tmp_path):
    path = tmp_path / "oregon.json"
    path.write_text(json.dumps(own_response(individual(duo_intake, 0), "Patient/p1", program="oregon-ops")))
    run = subprocess.run([sys.executable, "-m", "screening", "screen", str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "oregon-ops" in run.stderr and "Traceback" not in run.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "screening", "screen", str(path), "--program", "oregon-ops"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "questionnaire" not in ok.stderr, ok.stderr


# ---------------------------------------------------------------------------- 4. no answer in any body; 4xx for client mistakes

MARKER = "SECRET-MARKER-7f3a"


def answered_items(items):
    for item in items:
        if item.get("answer"):
            yield item
        yield from answered_items(item.get("item") or [])


def test_no_answer_reaches_any_response_body_error_bodies_included(open_client, duo_intake):
    """Reproduction 7 and its fuzz: a marker planted in each answer, in each form a FHIR answer
    may take, never comes back, whatever the status."""
    duo = ["Patient/p1", "Patient/p2"]
    base = responses_for(duo_intake, duo)
    count = len(list(answered_items(base["Patient/p1"]["item"])))
    forms = (
        lambda: {"valueString": MARKER * 40},
        lambda: {"valueCoding": {"system": "urn:x", "code": MARKER}},
        lambda: {"valueInteger": MARKER},
    )
    statuses = set()
    for index in range(count):
        for form in (forms[index % len(forms)],):  # each answer once, the forms in turn (each request screens a duo)
            responses = copy.deepcopy(base)
            item = list(answered_items(responses["Patient/p1"]["item"]))[index]
            item["answer"] = [form()]
            body = hook_request("appointment-book", duo[0], patients=duo, prefetch={"intake": searchset(*responses.values())})
            response = open_client.post(APPT, json=body)
            statuses.add(response.status_code)
            assert response.status_code < 500, response.text
            assert MARKER not in response.text and "SECRET" not in response.text, (item["linkId"], response.text[:300])
    assert 422 in statuses


def test_the_session_format_answer_is_not_quoted_when_it_contradicts_the_appointment(open_client, duo_intake):
    (qr,) = responses_for(individual(duo_intake, 0), ["Patient/p1"]).values()
    for item in answered_items(qr["item"]):
        if item["linkId"] == "session.format":
            item["answer"] = [{"valueCoding": {"code": MARKER}}]
    body = hook_request("appointment-book", "Patient/p1", patients=["Patient/p1"], prefetch={"intake": qr})
    response = open_client.post(APPT, json=body)
    assert response.status_code == 422 and "session.format" in response.text and MARKER not in response.text


@pytest.mark.parametrize(
    "server",
    [
        "http://127.0.0.1:9/fhir\r\nX-Injected: 1",
        "http://127.0.0.1:9/fhir\n",
        "http://user:pw@127.0.0.1:9/fhir",
        "http://127.0.0.1:9/secret-path#",
        "http://127.0.0.1:9/secret-path?x=",
        "http://127.0.0.1:notaport/fhir",
        "file:///etc/passwd",
        "http:///fhir",
    ],
)
def test_a_fhir_server_url_that_could_steer_the_call_is_a_400(open_client, server):
    body = hook_request("patient-view", "Patient/p1", fhir_server=server, fhir_token="t")
    response = open_client.post(VIEW, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["issue"][0]["expression"] == ["fhirServer"]


def test_context_user_id_is_required(open_client):
    for user in (None, "", "clin-1", "Organization/1", "Practitioner/"):
        body = hook_request("patient-view", "Patient/p1")
        if user is None:
            del body["context"]["userId"]
        else:
            body["context"]["userId"] = user
        response = open_client.post(VIEW, json=body)
        assert response.status_code == 400 and "context.userId" in response.text


def test_no_api_docs_are_served(open_client):
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert open_client.get(path).status_code == 404


def test_insecure_no_auth_is_refused_on_an_address_others_can_reach():
    from screening.service.app import check_listening

    config = ServiceConfig(insecure_no_auth=True)
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        check_listening(config, host)
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.org"):
        with pytest.raises(ValueError, match="insecure-no-auth"):
            check_listening(config, host)
    run = subprocess.run(
        [sys.executable, "-m", "screening", "serve", "--insecure-no-auth", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "insecure-no-auth" in run.stderr


# ---------------------------------------------------------------------------- 5. cards bound to their report


def test_a_reused_hook_instance_with_other_answers_gives_other_cards(duo_intake):
    """Reproduction 9: feedback on the first screening's cards must not land on the second."""
    sink = []

    class Sink:
        def record(self, entries):
            sink.extend(entries)

    app = create_app(ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python"), decisions=Sink())
    base = individual(duo_intake, 0)
    first, second = with_blood_pressure(base, 185, 112), with_blood_pressure(base, 186, 112)
    with TestClient(app, base_url=BASE) as client:
        issued = {}
        for name, intake in (("first", first), ("second", second)):
            (qr,) = responses_for(intake, ["Patient/p1"]).values()
            body = hook_request("patient-view", "Patient/p1", prefetch={"intake": qr}, hook_instance=str(uuid.UUID(int=7)))
            response = client.post(VIEW, json=body)
            assert response.status_code == 200
            issued[name] = response.json()
        ids = {n: b["extension"]["invalid.screening.report"]["report_id"] for n, b in issued.items()}
        assert ids["first"] != ids["second"]
        assert not {c["uuid"] for c in issued["first"]["cards"]} & {c["uuid"] for c in issued["second"]["cards"]}
        card = issued["first"]["cards"][0]
        entry = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
        assert client.post(f"{VIEW}/feedback", json={"feedback": [entry]}).status_code == 200
        assert sink[-1].report_id == ids["first"]


# ---------------------------------------------------------------------------- 6. SSRF and bounded fetch


class Hostile:
    """An HTTP server on 127.0.0.1 that records every path asked and answers as ``mode`` says:
    'trickle' (a byte every 0.5 s), 'gzip' (a small gzip that inflates to 50 MB), 'huge'."""

    def __init__(self, mode: str):
        import gzip
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.paths: list[tuple[str, str | None]] = []  # (path, Accept-Encoding)
        hostile = self
        bomb = gzip.compress(b"{" + b" " * 50_000_000 + b"}", compresslevel=9)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hostile.paths.append((self.path, self.headers.get("Accept-Encoding")))
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+json")
                try:
                    if mode == "trickle":
                        self.send_header("Content-Length", "100")
                        self.end_headers()
                        for _ in range(100):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.5)
                    elif mode == "gzip":
                        self.send_header("Content-Encoding", "gzip")
                        self.send_header("Content-Length", str(len(bomb)))
                        self.end_headers()
                        self.wfile.write(bomb)
                    else:
                        self.end_headers()  # no length: read until the cap
                        for _ in range(400):
                            self.wfile.write(b" " * 10_000)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_fhir_server_not_on_the_clients_list_is_never_called():
    """Reproduction 5: a caller steered the service to any host, path and port, with its token."""
    hostile = Hostile("huge")
    try:
        config = ServiceConfig(
            public_url=BASE, insecure_no_auth=True, engine="python", fhir_servers={"": ["https://ehr.example.org/fhir"]}
        )
        with TestClient(create_app(config), base_url=BASE) as client:
            for server in (f"{hostile.url}/secret-path", f"{hostile.url}", "https://ehr.example.org/fhir/../admin"):
                body = hook_request("patient-view", "Patient/p1", fhir_server=server, fhir_token="the-clients-token")
                response = client.post(VIEW, json=body)
                assert response.status_code == 412 and "not on this service's list" in response.text
        assert hostile.paths == []
    finally:
        hostile.close()


@pytest.mark.parametrize("mode", ["trickle", "gzip", "huge"])
def test_a_fhir_fetch_is_bounded_in_time_and_bytes(mode):
    """Reproduction 6: a trickle held a call 27 s; a 1 MB gzip grew the server to 2.1 GB."""
    import resource

    hostile = Hostile(mode)
    try:
        config = ServiceConfig(
            public_url=BASE, insecure_no_auth=True, engine="python", fhir_timeout=1.5, fhir_servers={"": [hostile.url]}
        )
        with TestClient(create_app(config), base_url=BASE) as client:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.monotonic()
            body = hook_request("patient-view", "Patient/p1", fhir_server=hostile.url, fhir_token="t")
            response = client.post(VIEW, json=body)
            took = time.monotonic() - started
            grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        assert response.status_code == 412 and "Patient/p1" in response.text
        assert took < 3.5, took
        assert grown_mb < 30, grown_mb
        assert hostile.paths and all(encoding == "identity" for _, encoding in hostile.paths)
    finally:
        hostile.close()


# ---------------------------------------------------------------------------- 7. the event loop never waits on the store


def test_healthz_answers_fast_while_a_hook_call_waits_on_a_locked_store(duo_intake, tmp_path):
    """Reproduction 8: with another process holding the SQLite write lock, /healthz took 11.6 s."""
    import sqlite3
    import threading

    path = tmp_path / "state.sqlite"
    config = ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python", state_path=str(path))
    (qr,) = responses_for(individual(duo_intake, 0), ["Patient/p1"]).values()
    with TestClient(create_app(config), base_url=BASE) as client:
        client.get("/healthz")
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # as another worker mid-write would
        answers = []
        call = threading.Thread(
            target=lambda: answers.append(
                client.post(VIEW, json=hook_request("patient-view", "Patient/p1", prefetch={"intake": qr}))
            )
        )
        call.start()
        time.sleep(1.0)  # the hook call is screening or waiting on the lock by now
        assert call.is_alive()
        times = []
        for _ in range(5):
            started = time.monotonic()
            assert client.get("/healthz").status_code == 200
            times.append(time.monotonic() - started)
        holder.execute("ROLLBACK")
        holder.close()
        call.join(30)
        assert max(times) < 0.1, times
        assert answers and answers[0].status_code in (200, 500)  # waited for the lock, or failed closed after it


# ---------------------------------------------------------------------------- 8. CORS


def test_cors_answers_only_the_configured_origins(duo_intake):
    """A browser client (the CDS Hooks Sandbox) could not call the service and showed "All clear!"."""
    sandbox = "https://sandbox.example.org"
    preflight = {
        "Origin": sandbox,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    with TestClient(create_app(ServiceConfig(public_url=BASE, insecure_no_auth=True)), base_url=BASE) as closed:
        assert "access-control-allow-origin" not in closed.options(VIEW, headers=preflight).headers  # none by default
    config = ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python", allow_origins=(sandbox,))
    with TestClient(create_app(config), base_url=BASE) as client:
        answer = client.options(VIEW, headers=preflight)
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == sandbox
        assert "authorization" in answer.headers["access-control-allow-headers"].lower()
        assert "access-control-allow-credentials" not in answer.headers
        other = client.options(VIEW, headers=dict(preflight, Origin="https://evil.example.org"))
        assert other.headers.get("access-control-allow-origin") != "https://evil.example.org"
        (qr,) = responses_for(individual(duo_intake, 0), ["Patient/p1"]).values()
        call = client.post(
            VIEW, json=hook_request("patient-view", "Patient/p1", prefetch={"intake": qr}), headers={"Origin": sandbox}
        )
        assert call.status_code == 200 and call.headers["access-control-allow-origin"] == sandbox
    for bad in ("*", "null", "https://x.org/path", "ftp://x.org"):
        with pytest.raises(ValueError, match="allow-origin"):
            ServiceConfig(insecure_no_auth=True, allow_origins=(bad,)).check()


# ---------------------------------------------------------------------------- a key written twice


def test_a_key_written_twice_is_refused_never_read_as_its_last_value(open_client, duo_intake):
    """As the command line refuses such a file: a key written twice anywhere in the request (a
    reader may see the first value, json.loads keeps the last) is a 400 naming the key, never the answer."""
    base = individual(duo_intake, 0)
    (qr,) = responses_for(with_blood_pressure(base, 185, 112), ["Patient/p1"]).values()
    text = json.dumps(hook_request("patient-view", "Patient/p1", prefetch={"intake": searchset(qr)}))
    assert '"status": "completed"' in text
    doubled = text.replace('"status": "completed"', '"status": "completed", "status": "completed"', 1)
    response = open_client.post(VIEW, content=doubled, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text[:300]
    assert "'status' more than once" in response.text and "185" not in response.text
    envelope = text.replace('"hook": "patient-view"', '"hook": "patient-view", "hook": "patient-view"', 1)
    assert envelope != text
    response = open_client.post(VIEW, content=envelope, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "'hook'" in response.json()["issue"][0]["diagnostics"], response.text
    # the same request written once is screened
    assert open_client.post(VIEW, content=text, headers={"content-type": "application/json"}).status_code == 200
