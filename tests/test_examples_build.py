"""Every generated example is exactly what `python examples/build.py` writes today."""

import importlib.util
import subprocess
import sys

import pytest
from conftest import EXAMPLES

pytest.importorskip("fhir.resources")


def _build_module():
    spec = importlib.util.spec_from_file_location("examples_build", EXAMPLES / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILT = _build_module().files()


@pytest.mark.parametrize("name", sorted(BUILT))
def test_the_committed_example_is_byte_for_byte_current(name):
    assert (EXAMPLES / name).read_bytes() == BUILT[name], f"stale examples/{name}: run python examples/build.py"


def test_every_json_file_under_examples_fhir_is_generated():
    committed = {f"fhir/{p.name}" for p in (EXAMPLES / "fhir").glob("*.json")}
    assert committed == {n for n in BUILT if n.startswith("fhir/")}


def test_the_cds_hooks_example_has_one_card_per_finding_of_the_duo_example():
    import json

    from screening import read_intake, screen

    cards = json.loads(BUILT["fhir/duo-mdma-cds-hooks.json"])["cards"]
    assert len(cards) == len(screen(read_intake(EXAMPLES / "duo-mdma.yaml")).findings) > 3


def test_check_mode_names_a_stale_file_and_exits_1(tmp_path):
    # a copy of the builder beside a copy of the inputs, one output edited by hand
    (tmp_path / "fhir").mkdir()
    (tmp_path / "build.py").write_bytes((EXAMPLES / "build.py").read_bytes())
    (tmp_path / "nl").mkdir()
    for source in ("duo-mdma.yaml", "duo-truffels.yaml"):
        (tmp_path / source).write_bytes((EXAMPLES / source).read_bytes())
    for name, content in BUILT.items():
        (tmp_path / name).write_bytes(content)
    assert subprocess.run([sys.executable, str(tmp_path / "build.py"), "--check"], check=False, timeout=120).returncode == 0
    (tmp_path / "fhir/duo-mdma-cds-hooks.json").write_text('{"cards": []}\n')
    result = subprocess.run(
        [sys.executable, str(tmp_path / "build.py"), "--check"], check=False, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and "stale: examples/fhir/duo-mdma-cds-hooks.json" in result.stderr


def test_every_file_under_examples_nl_is_generated():
    assert {f"nl/{p.name}" for p in (EXAMPLES / "nl").iterdir()} == {n for n in BUILT if n.startswith("nl/")}


def _dutch(name):
    return BUILT[f"nl/duo-truffels-{name}"].decode("utf-8")


def test_the_dutch_duo_truffle_example_is_a_psilocybin_duo_of_two_friends_with_a_dutch_medication_line():
    from screening import read_intake, screen

    intake = read_intake(EXAMPLES / "duo-truffels.yaml")
    assert intake.session.substance == "psilocybin" and intake.session.format == "duo"
    assert {p.relationship.relation_type for p in intake.participants} == {"friend"}
    report = screen(intake)
    fired = {(f.rule_id, f.participant) for f in report.flags}
    # "sertraline 50mg 1dd1" (once a day, one tablet) is still read as sertraline
    assert ("medication.serotonin-reuptake-inhibitor-blunting", "A") in fired
    assert "sertraline" in _dutch("report.txt")


def test_the_dutch_participant_copies_are_wholly_dutch_and_each_only_their_own():
    for pid, other in (("A", "B"), ("B", "A")):
        for ext in ("txt", "html"):
            copy = _dutch(f"participant-{pid}.{ext}")
            assert "[nog niet vertaald]" not in copy, (pid, ext)  # every text a participant reads is translated
            assert "Uw antwoorden bij de screening" in copy and "begeleider" in copy
            assert f"eelnemer {pid}" in copy and f"eelnemer {other}" not in copy
            assert "14 november 2026" in copy  # the date as a Dutch reader writes it
    assert '<html lang="nl">' in _dutch("participant-A.html")
    # A's own point (the antidepressant, written the Dutch way: "sertraline 50mg 1dd1") is on A's copy, not on B's
    assert "antidepressivum" in _dutch("participant-A.txt") and "antidepressivum" not in _dutch("participant-B.txt")
    assert "niet herkend" not in _dutch("participant-A.txt")  # "1dd1" is read as a frequency, not an unknown drug


def test_the_dutch_clinician_report_has_dutch_headings_and_its_rule_texts_in_dutch():
    text, html = _dutch("report.txt"), _dutch("report.html")
    assert text.startswith("Screeningsrapport voor de clinicus")
    assert "WAARSCHUWING" in text and "Deelnemer A" in text and "Deelnemer B" in text
    assert "[nog niet vertaald] " not in text  # every rule text has its Dutch (a missing one would be English, marked)
    assert "Eerst bespreken" in text
    assert '<html lang="nl">' in html and "2 november 2026" in html
