"""The CDS Hooks service against the defects of issue 26, each reproduction a test: stale
intakes picked by text order, programs that would not start, other programs' Questionnaires,
answers in error bodies, rebound cards, SSRF and unbounded fetches, a blocked event loop, and
what CDS Hooks 2.0 says of CORS, feedback and status codes."""

from __future__ import annotations

import copy
import datetime as dt

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
    response = open_client.post(VIEW, json=hook_request("patient-view", "Patient/p1", prefetch={"intake": searchset(first, second)}))
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
