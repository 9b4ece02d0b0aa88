"""CDS Hooks cards: one per finding, with the fields the CDS Hooks specification requires."""

import json
import uuid

import pytest
import yaml
from conftest import EXAMPLES

from screening import screen
from screening.cli.commands import main
from screening.interop.cds_hooks import DEFAULT_OVERRIDE_REASONS, RULE_EXTENSION, card_uuid, cards, render_cds_hooks
from screening.report.findings import references_of
from screening.report.model import summary_in
from screening.rulebook.loading import load

INDICATORS = {"info", "warning", "critical"}
CARD_FIELDS = {
    "uuid",
    "summary",
    "detail",
    "indicator",
    "source",
    "suggestions",
    "selectionBehavior",
    "overrideReasons",
    "links",
    "extension",
}


def check_card(card):
    """The CDS Hooks 2.0 Card: required summary (<140 chars), indicator and source.label."""
    assert set(card) <= CARD_FIELDS
    assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140
    assert card["indicator"] in INDICATORS
    assert isinstance(card["source"]["label"], str) and card["source"]["label"]
    assert card["source"]["url"].startswith(("http://", "https://"))
    assert "suggestions" not in card and "selectionBehavior" not in card
    uuid.UUID(card["uuid"])
    for reason in card["overrideReasons"]:
        assert reason["display"] and reason["code"] and reason["system"].startswith("https://")


@pytest.fixture(scope="module")
def duo_report():
    return screen(yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text()), engine="python")


def test_one_valid_card_per_finding_in_the_summary_order(duo_report):
    result = cards(duo_report)
    assert len(result) == len(duo_report.findings) > 0
    assert len(result) < len(duo_report.flags)
    for card, finding in zip(result, duo_report.findings):
        check_card(card)
        assert card["indicator"] == finding.severity
        first = references_of(finding, duo_report.rules)[0]
        assert card["source"] == {"label": first.title, "url": first.url}
    order = [line.finding for group in summary_in(duo_report).groups for line in group.lines]
    assert order == [f.id for f in duo_report.findings]


def test_detail_carries_explanation_evidence_action_limitations_and_the_notice(duo_report):
    flag, card = duo_report.findings[0], cards(duo_report)[0]
    detail = card["detail"]
    for heading in ("**Found in the intake:**", "**For review:**", "**Limitations:**", "**Sources:**"):
        assert heading in detail
    assert duo_report.rules[flag.rule_id].explanation.split()[0] in detail
    assert duo_report.questions[flag.evidence[0].field].split()[0] in detail
    assert "decides nothing" in detail


def test_every_card_summary_says_whose_finding_it_is(duo_report):
    whose = {"session": "Session plan: ", "pair": "Pair (A and B): "}
    for card, finding in zip(cards(duo_report), duo_report.findings):
        assert card["summary"].startswith(whose.get(finding.subject, f"Participant {finding.subject}: "))
    summaries = [c["summary"] for c in cards(duo_report)]
    assert "Session plan: A duo session is planned with fewer than two sober facilitators." in summaries
    assert "Participant A: Not answered: grounding or self-regulation skills not confirmed" in summaries


def test_uuid_is_stable_for_rule_participant_and_rulebook(duo_report):
    again = screen(yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text()), engine="python")
    assert [c["uuid"] for c in cards(again)] == [c["uuid"] for c in cards(duo_report)]
    first = duo_report.findings[0]
    assert cards(duo_report)[0]["uuid"] == card_uuid(first.rules[0].rule_id, first.subject, duo_report.rulebook.sha256)
    assert card_uuid(first.rules[0].rule_id, "B", "x") != card_uuid(first.rules[0].rule_id, "A", "x")
    assert card_uuid(first.rules[0].rule_id, "A", "x") != card_uuid(first.rules[0].rule_id, "A", "y")
    assert len({c["uuid"] for c in cards(duo_report)}) == len(duo_report.findings)


def test_with_a_hook_instance_the_uuid_is_unique_per_call_patient_and_flag(duo_report):
    patients = {"A": "Patient/p1", "B": "Patient/p2"}
    first = cards(duo_report, hook_instance="h-1", patients=patients)
    again = cards(duo_report, hook_instance="h-1", patients=patients)
    other_call = cards(duo_report, hook_instance="h-2", patients=patients)
    other_patients = cards(duo_report, hook_instance="h-1", patients={"A": "Patient/p3", "B": "Patient/p2"})
    assert [c["uuid"] for c in first] == [c["uuid"] for c in again]
    assert not {c["uuid"] for c in first} & {c["uuid"] for c in other_call}
    assert len({c["uuid"] for c in first}) == len(first)
    # a finding about A changes uuid when A is another patient; a finding about B alone does not
    for card, moved, finding in zip(first, other_patients, duo_report.findings, strict=True):
        assert (card["uuid"] == moved["uuid"]) == ("A" not in finding.participants)
    assert not {c["uuid"] for c in first} & {c["uuid"] for c in cards(duo_report)}


def test_every_card_names_its_rule_and_participant_in_an_extension(duo_report):
    flags = {(f.rule_id, f.participant) for f in duo_report.flags}
    for card, finding in zip(
        cards(duo_report, patients={"A": "Patient/p1", "B": "Patient/p2"}), duo_report.findings, strict=True
    ):
        ext = card["extension"][RULE_EXTENSION]
        main = finding.rules[0]
        assert ext["rule_id"] == main.rule_id and ext["participant"] == main.participant
        assert (ext["rule_id"], ext["participant"]) in flags  # the key a decision is recorded against
        assert ext["finding"] == finding.id
        assert ext["rulebook_sha256"] == duo_report.rulebook.sha256
        assert ext["patients"] == sorted({"A": "Patient/p1", "B": "Patient/p2"}[p] for p in finding.participants)


def test_a_rule_url_gives_each_card_a_link_to_its_rule_page(duo_report):
    result = cards(duo_report, rule_url=lambda f: f"https://cds.example.org/rules/{f.rule_id}")
    for card, finding in zip(result, duo_report.findings, strict=True):
        main = finding.rules[0].rule_id
        assert card["links"] == [
            {"label": f"How the rule {main} works", "url": f"https://cds.example.org/rules/{main}", "type": "absolute"}
        ]
    assert "links" not in cards(duo_report)[0]


def test_override_reasons_default_when_the_rule_has_none(duo_report):
    card = cards(duo_report)[0]
    assert [r["display"] for r in card["overrideReasons"]] == list(DEFAULT_OVERRIDE_REASONS)
    assert "Reviewed with participant; risk accepted by clinician" in DEFAULT_OVERRIDE_REASONS


def test_override_reasons_come_from_the_rule_when_it_has_them(tmp_path, book):
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(book.root, rules)
    path = rules / "setting" / "no-sober-facilitator.yaml"
    path.write_text(path.read_text() + "override_reasons:\n  - A second sober facilitator has been arranged\n")
    custom = load(rules)
    intake = {"session": dict(book.baseline["session"], sober_facilitators=0), "participants": [book.baseline["participant"]]}
    report = screen(intake, rulebook=custom, engine="python")
    (card,) = [c for c, f in zip(cards(report, custom), report.findings) if f.rules[0].rule_id == "setting.no-sober-facilitator"]
    assert [r["display"] for r in card["overrideReasons"]] == ["A second sober facilitator has been arranged"]
    assert card["overrideReasons"][0]["code"] == "a-second-sober-facilitator-has-been-arranged"


def test_no_flags_gives_no_cards(baseline_individual):
    assert json.loads(render_cds_hooks(screen(baseline_individual, engine="python"))) == {"cards": []}


def test_participant_view_cards_leave_out_the_other_persons_answers(duo_report):
    view = duo_report.view_for("B")
    for card in cards(view):
        assert "\n- A:" not in card["detail"]


def test_cli_renders_a_cds_hooks_response(capsys):
    assert main(["screen", str(EXAMPLES / "duo-mdma.yaml"), "--format", "cds-hooks"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert set(body) == {"cards"} and body["cards"]
    for card in body["cards"]:
        check_card(card)


def test_the_committed_example_response_holds_valid_cards():
    """A sample for readers; it is not compared byte for byte, so rule edits do not break it."""
    committed = json.loads((EXAMPLES / "fhir" / "duo-mdma-cds-hooks.json").read_text())
    assert committed["cards"]
    for card in committed["cards"]:
        check_card(card)


def test_cards_in_dutch_keep_every_code_and_translate_the_fixed_strings(duo_report):
    english, dutch = cards(duo_report), cards(duo_report, lang="nl")
    assert cards(duo_report, lang="en") == english
    assert len(dutch) == len(english) > 3
    for en, nl in zip(english, dutch):
        check_card(nl)
        # the same card in another language: same uuid, severity, override codes and rule key
        assert (nl["uuid"], nl["indicator"], nl["extension"]) == (en["uuid"], en["indicator"], en["extension"])
        assert [r["code"] for r in nl["overrideReasons"]] == [r["code"] for r in en["overrideReasons"]]
        assert nl["summary"].split(":")[0] in {"Sessieplan", "Deelnemer A", "Deelnemer B", "Het duo (A en B)"}
        for label in ("**Om te beoordelen:**", "**Beperkingen:**", "beslist niets"):
            assert label in nl["detail"]
        for english_label in ("**For review:**", "**Limitations:**", "**Found in the intake:**", "Rules `"):
            assert english_label not in nl["detail"]
    reasons = {r["display"] for card in dutch for r in card["overrideReasons"]}
    assert "In het sessieplan opgenomen" in reasons and DEFAULT_OVERRIDE_REASONS[2] not in reasons


def test_a_rule_text_with_no_dutch_is_shown_in_english_marked_never_blank(duo_report):
    dutch = cards(duo_report, lang="nl")
    for card in dutch:  # every shipped rule text has its Dutch
        assert "nog niet vertaald" not in card["summary"] + card["detail"]
    # a rule text changed since it was translated: the English, after the marker, never blank
    changed = "Changed after its translation."
    findings = [f.model_copy(update={"title": changed}) for f in duo_report.findings]
    rules = {
        rule_id: rule.model_copy(update={"summary": changed, "title": changed}) for rule_id, rule in duo_report.rules.items()
    }
    report = duo_report.model_copy(update={"findings": findings, "rules": rules})
    for card in cards(report, lang="nl"):
        assert card["summary"].endswith("[nog niet vertaald] " + changed)
        assert len(card["summary"].split(": ", 1)[1]) > len("[nog niet vertaald] ")


def test_an_unknown_card_language_is_refused_naming_the_available_ones(duo_report):
    from screening.i18n import UnknownLanguage

    with pytest.raises(UnknownLanguage, match="available: en, nl"):
        render_cds_hooks(duo_report, lang="xx")


def test_cli_renders_cds_hooks_cards_in_dutch(capsys):
    assert main(["screen", str(EXAMPLES / "duo-truffels.yaml"), "--format", "cds-hooks", "--lang", "nl"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["cards"]
    for card in body["cards"]:
        check_card(card)
        assert card["summary"].startswith(("Sessieplan:", "Deelnemer A:", "Deelnemer B:", "Het duo (A en B):"))
        assert "**Gevonden in de intake:**" in card["detail"] or "**Bouwt voort op:**" in card["detail"]
