"""The reviewer documentation: generated from the rulebook, committed, and checked for freshness."""

import shutil
from pathlib import Path

from screening.authoring import docs
from screening.cli.commands import main
from screening.rulebook import conditions
from screening.rulebook import loading as rulebook

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "docs" / "rules"
FIX = "docs/rules is out of date with rules/: run `screening docs build` and commit docs/rules"


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.md"))}


def _differences(built: dict[str, str], committed: dict[str, str]) -> list[str]:
    missing = sorted(set(built) - set(committed))
    extra = sorted(set(committed) - set(built))
    changed = sorted(p for p in set(built) & set(committed) if built[p] != committed[p])
    return [f"missing {p}" for p in missing] + [f"not generated any more {p}" for p in extra] + [f"changed {p}" for p in changed]


def test_committed_docs_match_a_fresh_build(tmp_path, book):
    docs.build(book, tmp_path)
    differences = _differences(_tree(tmp_path), _tree(COMMITTED))
    assert not differences, f"{FIX}\n" + "\n".join(differences[:20])


def test_freshness_check_fails_when_a_rule_summary_changes(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(rulebook.default_rules_dir(), rules)
    copied = rulebook.load(rules)
    rule = next(
        r for r in copied.rules if (rules / r.path).read_text().splitlines()[r.line_of["summary"] - 1].rstrip()[-1] not in ">|"
    )
    path = rules / rule.path
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[rule.line_of["summary"] - 1] = "summary: A changed summary that no committed page holds yet.\n"
    path.write_text("".join(lines), encoding="utf-8")
    pristine, out = tmp_path / "pristine", tmp_path / "out"
    docs.build(copied, pristine)
    assert main(["docs", "build", "--rules", str(rules), "--out", str(out)]) == 0
    page = f"{rule.meta.category}/{rule.id}.md"
    # the freshness check against the committed pages catches it ...
    assert f"changed {page}" in _differences(_tree(out), _tree(COMMITTED))
    # ... and the summary is all that changed: the rule's page and the index that lists it
    assert set(_differences(_tree(out), _tree(pristine))) == {f"changed {page}", "changed index.md"}
    assert "A changed summary that no committed page holds yet." in (out / page).read_text(encoding="utf-8")


def test_build_removes_the_page_of_a_deleted_rule(tmp_path, book):
    docs.build(book, tmp_path)
    stale = tmp_path / "setting" / "setting.retired-rule.md"
    stale.write_text(docs.GENERATED + "# old\n", encoding="utf-8")
    handwritten = tmp_path / "notes.md"
    handwritten.write_text("# my notes\n", encoding="utf-8")
    docs.build(book, tmp_path)
    assert not stale.exists()
    assert handwritten.exists()


def test_build_is_deterministic(book):
    assert docs.render(book) == docs.render(book)


def test_every_rule_has_a_page_with_its_parts(book):
    pages = docs.render(book)
    for rule in book.rules:
        page = pages[f"{rule.meta.category}/{rule.id}.md"]
        for part in (
            "## What it checks",
            "**When**",
            "**Then**",
            "## Why it matters",
            "## Suggested clinician action",
            "## Limitations",
            "## References",
            "### Raises the flag",
            "### Does not raise the flag",
            f"rules/{rule.path}",
        ):
            assert part in page, f"{rule.id}: {part!r} missing"
        for ref in rule.meta.references:
            assert ref.url in page


def _phrase(when, pair=False):
    return docs.phrase_condition(conditions.parse(when, pair=pair))


def test_yes_answer_is_phrased_with_the_question():
    assert _phrase({"is": {"psychiatric.bipolar_1": "yes"}}) == (
        "**When** the answer to 'Have you ever been diagnosed with bipolar I disorder?' is yes."
    )


def test_threshold_is_phrased_with_the_measure():
    assert _phrase({"at_least": {"physical.systolic_bp": 140}}) == "**When** the systolic blood pressure (mmHg) is at least 140."


def test_medication_window_is_phrased_in_days(book):
    text = docs.phrase_condition(conditions.parse({"taking": {"class": "lithium", "within_days": 30}}), book)
    assert "a medication of class 'Lithium' is current or was last taken at most 30 days before the session" in text


def test_not_yes_reads_as_no_or_unknown():
    text = _phrase({"not": {"is": {"physical.mushroom_allergy": "yes"}}})
    assert "is no or unknown (not answered, or answered unsure)" in text


def test_negated_threshold_includes_a_missing_number():
    text = _phrase({"not": {"at_least": {"physical.systolic_bp": 140}}})
    assert text == "**When** the systolic blood pressure (mmHg) is less than 140, or was not given."


def test_nested_branches_become_nested_bullets():
    text = _phrase(
        {
            "all": [
                {
                    "any": [
                        {"is": {"self.relationship.fear_of_other": "yes"}},
                        {"is": {"self.relationship.violence_last_year": "yes"}},
                    ]
                },
                {"is": {"other.relationship.fear_of_other": "no"}},
            ]
        },
        pair=True,
    )
    assert text.splitlines()[0] == "**When** all of these hold:"
    assert "- at least one of these holds:" in text
    assert "  - one participant's answer to 'Are you afraid of the other participant?' is yes" in text
    assert "- the other participant's answer to 'Are you afraid of the other participant?' is no" in text


def test_interaction_matrix_shows_the_highest_severity(book):
    page = docs.render(book)["medications.md"]
    lithium = next(line for line in page.splitlines() if line.startswith("| Lithium (`lithium`)"))
    cells = [c.strip() for c in lithium.strip("|").split("|")]
    readers = [r for r in book.active if any(l.op == "taking" and l.field == "lithium" for l in conditions.walk(r.condition))]
    expected_psilocybin = max(
        (r.meta.severity for r in readers if "psilocybin" in r.substances), key=rulebook.SEVERITY_ORDER.__getitem__, default="–"
    )
    assert cells[1] == expected_psilocybin


def test_report_guide_says_no_flag_is_not_a_clearance(book):
    page = docs.render(book)["how-to-read-a-report.md"]
    assert "No flag is not a clearance" in page
    assert "participant:<id>" in page


def test_rule_readme_operator_examples_parse(book):
    """The operator table in rules/README.md stays true to the language."""
    import re

    import yaml

    readme = (ROOT / "rules" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", readme, flags=re.MULTILINE)
    assert {op for op, _ in rows} >= set(conditions.LEAVES) | set(conditions.BRANCHES)
    for op, example in rows:
        if op in ("all", "any"):
            continue
        conditions.parse(yaml.safe_load(example), classes=frozenset(book.vocabulary.classes), named=book.named)
