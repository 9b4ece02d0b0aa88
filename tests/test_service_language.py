"""The CDS Hooks service answers in a language: the request's Accept-Language (RFC 9110 §12.5.4,
with q-values), else ``serve --lang``, else English. CDS Hooks 2.0 has no language field of its own."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("fastapi")

from conftest import EXAMPLES
from fastapi.testclient import TestClient
from service_support import hook_request, responses_for, searchset
from test_cds_hooks import check_card

from screening import screen
from screening.cli.commands import main
from screening.interop.cds_hooks import RULE_EXTENSION, cards
from screening.service import ServiceConfig, create_app
from screening.service.language import negotiated_language

BASE = "http://testserver"
APPT = "/cds-services/screening-appointment"
VIEW = "/cds-services/screening-patient"
DUO = ["Patient/p1", "Patient/p2"]


@pytest.mark.parametrize(
    ("header", "default", "expected"),
    [
        (None, None, "en"),
        ("", None, "en"),
        ("nl", None, "nl"),
        ("nl-NL,nl;q=0.9,en;q=0.8", None, "nl"),  # what a Dutch browser sends
        ("en-GB,en;q=0.9,nl;q=0.8", None, "en"),
        ("en;q=0.5, nl", None, "nl"),  # the weight decides, not the order
        ("nl;q=0.5, en;q=0.5", None, "nl"),  # a tie: the one listed first
        ("NL-be", None, "nl"),  # case-insensitive; a region narrows to its language
        ("nl;q=0", "nl", "en"),  # q=0: not acceptable, even as the service's own language
        ("nl;q=0, en;q=0", "nl", "nl"),  # nothing acceptable: the service's language
        ("fr, de;q=0.9", None, "en"),  # none we have: the service's language
        ("fr, de;q=0.9", "nl", "nl"),
        ("*", "nl", "nl"),  # anything: the service's language
        ("fr, *;q=0.1", None, "en"),
        ("de, nl-BE;q=0.3, nl-NL;q=0.7, en;q=0.6", None, "nl"),  # the heaviest nl-* range
        ("nl;q=0.2, nl-NL;q=0.9, en;q=0.5", None, "en"),  # the exact range "nl" wins over nl-NL
        ("nl;q=2", None, "en"),  # malformed (q above 1): read as absent
        ("nl;level=1", None, "en"),  # a parameter other than q: malformed
        ("<script>", "nl", "nl"),
    ],
)
def test_accept_language_picks_the_best_available_language(header, default, expected):
    assert negotiated_language(header, default) == expected


@given(st.text(max_size=80), st.sampled_from([None, "en", "nl"]))
def test_any_header_gives_an_available_language_and_never_an_error(header, default):
    assert negotiated_language(header, default) in ("en", "nl")


@pytest.fixture(scope="module")
def duo_intake():
    return yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())


@pytest.fixture(scope="module")
def duo_request(duo_intake):
    responses = responses_for(duo_intake, DUO)
    return hook_request("appointment-book", DUO[0], patients=DUO, prefetch={"intake": searchset(*responses.values())})


def client_for(**config):
    return TestClient(create_app(ServiceConfig(public_url=BASE, insecure_no_auth=True, engine="python", **config)), base_url=BASE)


def test_a_dutch_accept_language_gives_the_same_cards_in_dutch(duo_intake, duo_request):
    with client_for() as client:
        english = client.post(APPT, json=duo_request)
        dutch = client.post(APPT, json=duo_request, headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.8"})
    assert english.status_code == dutch.status_code == 200, dutch.text
    assert english.headers["content-language"] == "en" and dutch.headers["content-language"] == "nl"
    assert "accept-language" in dutch.headers["vary"].lower()  # a cache keeps the two apart
    en_cards, nl_cards = english.json()["cards"], dutch.json()["cards"]
    assert len(nl_cards) == len(en_cards) > 3
    for en, nl in zip(en_cards, nl_cards):
        check_card(nl)
        # the same finding, uuid and codes: feedback on a Dutch card binds to the same card
        assert (nl["uuid"], nl["indicator"], nl["extension"]) == (en["uuid"], en["indicator"], en["extension"])
        assert [r["code"] for r in nl["overrideReasons"]] == [r["code"] for r in en["overrideReasons"]]
        assert nl["summary"] != en["summary"] and len(nl["summary"]) < 140
    # the texts are those the library renders in Dutch for the same screening
    expected = cards(screen(duo_intake, engine="python"), lang="nl")
    assert [c["summary"] for c in nl_cards] == [c["summary"] for c in expected]
    assert [c["extension"][RULE_EXTENSION]["rule_id"] for c in nl_cards] == [
        c["extension"][RULE_EXTENSION]["rule_id"] for c in expected
    ]
    about = dutch.json()["extension"]["invalid.screening.report"]
    assert about["language"] == "nl" and "beslist niets" in about["notice"]
    assert english.json()["extension"]["invalid.screening.report"]["language"] == "en"


def test_serve_lang_is_the_language_when_the_request_names_none_we_have(duo_request):
    with client_for(lang="nl") as client:
        plain = client.post(APPT, json=duo_request)
        french = client.post(APPT, json=duo_request, headers={"Accept-Language": "fr-FR, fr;q=0.9"})
        english = client.post(APPT, json=duo_request, headers={"Accept-Language": "en"})
    assert plain.headers["content-language"] == french.headers["content-language"] == "nl"
    assert plain.json()["cards"] == french.json()["cards"]
    assert english.headers["content-language"] == "en"
    assert english.json()["cards"][0]["summary"] != plain.json()["cards"][0]["summary"]


def test_a_duo_members_chart_card_is_in_the_requested_language_too(duo_intake):
    responses = responses_for(duo_intake, DUO)
    body = hook_request("patient-view", DUO[0], prefetch={"intake": searchset(*responses.values())})
    with client_for() as client:
        response = client.post(VIEW, json=body, headers={"Accept-Language": "nl"})
    (card,) = response.json()["cards"]
    assert response.headers["content-language"] == "nl"
    assert "afspraak" in card["summary"] and len(card["summary"]) < 140  # CDS Hooks 2.0 §"Card Attributes"
    assert "appointment is booked" not in card["summary"] and "niets besloten" in card["detail"]


def test_an_unknown_service_language_is_a_usage_error_naming_the_available_ones(capsys):
    with pytest.raises(ValueError, match="available: en, nl"):
        create_app(ServiceConfig(public_url=BASE, insecure_no_auth=True, lang="xx"))
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--insecure-no-auth", "--lang", "xx"])
    assert exited.value.code == 2 and "en, nl" in capsys.readouterr().err
