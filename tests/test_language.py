"""The language extensions: lists of classes, counts of distinct drugs or classes, two-sided
per-medication windows, `between`, named conditions. Both engines must agree with each other
and with a count worked out here from the written medications."""

import copy
import datetime as dt
import shutil
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening import RulebookError, load_rulebook, screen
from screening.cli.commands import main
from screening.engines.engine import durable_available
from screening.rulebook.conditions import ConditionError, parse
from screening.rulebook.loading import default_rules_dir

DATE = dt.date(2026, 12, 1)
CLASSES = frozenset({"ssri", "snri", "tramadol", "triptan", "serotonergic_supplement", "fluoxetine_long_half_life", "lithium"})


def test_a_list_of_classes_reads_as_any_of_them():
    condition = parse({"taking": {"class": ["ssri", "snri"], "within_days": 7}}, classes=CLASSES)
    assert condition.op == "any" and [leaf.field for leaf in condition.items] == ["ssri", "snri"]


@pytest.mark.parametrize(
    "when, message",
    [
        ({"taking": {"class": ["ssri", "snrri"]}}, "unknown medication class 'snrri'; did you mean 'snri'?"),
        ({"taking": {"class": {"ssri": 1}}}, "a medication class is a class id, or a non-empty list"),
        ({"taking": {"class": [], "within_days": 3}}, "a medication class is a class id, or a non-empty list"),
        ({"taking": {"class": "ssri", "after_days": 20, "within_days": 10}}, "no day is in that window"),
        ({"stopped_on_own": {"class": "ssri", "after_days": 2}}, "'stopped_on_own' takes 'class' and optionally 'within_days'"),
        ({"between": {"person.age": [30, 20]}}, "the low bound 30 is above the high bound 20"),
        ({"between": {"person.age": 20}}, "'between' takes two numbers [low, high]"),
        ({"between": {"person.pregnant": [1, 2]}}, "compares numbers"),
        ({"medications": {"of": ["ssri"], "at_least": 0}}, "'at_least' is a whole number, 1 or more"),
        ({"medications": {"count": "classes", "of": ["ssri", "snri"], "at_least": 3}}, "can never hold"),
        ({"medications": {"count": "doses", "of": ["ssri"], "at_least": 2}}, "'count' is drugs or classes"),
        ({"use": "two_serotonergic"}, "'use' names a condition in rules/conditions.yaml"),
    ],
)
def test_mistakes_in_the_new_operators_are_clear_errors(when, message):
    with pytest.raises(ConditionError) as error:
        parse(when, classes=CLASSES, named={"several_serotonergic": {"answered": "person.age"}})
    assert message in str(error.value)


def test_a_named_condition_that_uses_itself_is_an_error():
    named = {"a": {"use": "b"}, "b": {"any": [{"use": "a"}]}}
    with pytest.raises(ConditionError, match="uses itself"):
        parse({"use": "a"}, named=named)


# ---------------------------------------------------------------------------- differential

ENGINES = ["python"] + (["durable"] if durable_available() else [])

# name as written -> (generic, classes), for the count worked out in the test
POOL = {
    "sertraline 50mg": ("sertraline", {"ssri"}),
    "Zoloft": ("sertraline", {"ssri"}),
    "Prozac": ("fluoxetine", {"ssri", "fluoxetine_long_half_life"}),
    "venlafaxine": ("venlafaxine", {"snri"}),
    "tramadol": ("tramadol", {"tramadol"}),
    "sumatriptan": ("sumatriptan", {"triptan"}),
    "st johns wort": ("st john's wort", {"serotonergic_supplement"}),
    "lithium": ("lithium", {"lithium"}),
    "ibuprofen": ("ibuprofen", set()),
}

EXTRA_RULES = {
    "two-drugs": (
        "medications: {count: drugs, of: [ssri, tramadol, triptan], at_least: 2, within_days: 14}",
        lambda meds: len({g for g, c, d in meds if c & {"ssri", "tramadol", "triptan"} and d <= 14}) >= 2,
    ),
    "three-classes": (
        "medications: {count: classes, of: [ssri, snri, tramadol, serotonergic_supplement], at_least: 3, within_days: 7}",
        lambda meds: (
            len({k for g, c, d in meds if d <= 7 for k in c} & {"ssri", "snri", "tramadol", "serotonergic_supplement"}) >= 3
        ),
    ),
    "window": (
        "taking: {class: fluoxetine_long_half_life, after_days: 10, within_days: 30}",
        lambda meds: any("fluoxetine_long_half_life" in c and 10 <= d <= 30 for g, c, d in meds),
    ),
    "not-window": (
        "not: {taking: {class: [ssri, lithium], after_days: 5, within_days: 20}}",
        lambda meds: not any(c & {"ssri", "lithium"} and 5 <= d <= 20 for g, c, d in meds),
    ),
    "named": ("any: [{use: test_pair}, {between: {physical.systolic_bp: [150, 155]}}]", None),
}


def _rule_file(name: str, when: str) -> str:
    return textwrap.dedent(f"""\
        id: test.{name}
        title: "Differential test rule {name}"
        participant_text: "A test rule's sentence for the participant, with nothing clinical in it."
        category: medication-interaction
        status: draft
        severity: info
        applies_to: participant
        substances: [all]
        when:
          {when}
        summary: "A differential test rule for the language extensions."
        explanation: "Written by the test suite to compare the two engines on one construct."
        clinician_action: "Review the listed medications."
        limitations: ["A test rule, not a clinical one."]
        references: [{{title: "Test", url: "https://example.org/test", says: "Nothing clinical; a test fixture."}}]
        written: 2026-11-30
        examples:
          - {{name: "nothing listed", expect: flag}}
          - {{name: "nothing listed again", expect: no-flag}}
        """)


@pytest.fixture(scope="module")
def test_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("language") / "rules"
    shutil.copytree(default_rules_dir(), root)
    (root / "conditions.yaml").write_text(
        (root / "conditions.yaml").read_text()
        + textwrap.dedent("""\
        test_pair:
          description: "A test: lithium and a triptan, both current."
          when: {all: [{taking: {class: lithium}}, {taking: {class: triptan}}]}
        """)
    )
    for name, (when, _) in EXTRA_RULES.items():
        (root / "medication-interaction" / f"test-{name}.yaml").write_text(_rule_file(name, when))
    return load_rulebook(root)


@st.composite
def medication_intakes(draw, book):
    person = copy.deepcopy(book.baseline["participant"])
    person["physical"]["systolic_bp"] = draw(st.one_of(st.none(), st.integers(145, 160)))
    meds, seen = [], []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(sorted(POOL)))
        status = draw(st.sampled_from(["current", "stopped", "unknown"]))
        days = draw(st.integers(0, 45))
        med = {"name": name, "status": status}
        if status == "stopped":
            med.update(last_taken=str(DATE - dt.timedelta(days=days)), stopped_with_prescriber="yes")
        meds.append(med)
        seen.append((POOL[name][0], POOL[name][1], days if status == "stopped" else 0))
    person["medications"] = meds
    session = {**copy.deepcopy(book.baseline["session"]), "substance": draw(st.sampled_from(["mdma", "psilocybin", "ayahuasca"]))}
    return {"session": session, "participants": [person]}, seen, person["physical"]["systolic_bp"]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_both_engines_count_and_window_as_written(test_book, data):
    intake, meds, systolic = data.draw(medication_intakes(test_book))
    results = {engine: {f.rule_id for f in screen(intake, rulebook=test_book, engine=engine).flags} for engine in ENGINES}
    assert len({frozenset(r) for r in results.values()}) == 1, results
    fired = results["python"]
    for name, (_, expected) in EXTRA_RULES.items():
        if expected is not None:
            assert (f"test.{name}" in fired) == expected(meds), (name, meds)
    named = (any("lithium" in c and d == 0 for _, c, d in meds) and any("triptan" in c and d == 0 for _, c, d in meds)) or (
        systolic is not None and 150 <= systolic <= 155
    )
    assert ("test.named" in fired) == named


def test_the_serotonergic_rule_names_every_counted_drug(book, baseline_individual):
    intake = copy.deepcopy(baseline_individual)
    intake["session"]["substance"] = "mdma"
    intake["participants"][0]["medications"] = [{"name": "Zoloft 50mg and tramadol", "status": "current"}]
    for engine in ENGINES:
        flag = next(
            f
            for f in screen(intake, engine=engine).flags
            if f.rule_id == "medication.several-serotonergic-drugs-with-mdma-or-ayahuasca"
        )
        assert flag.evidence[0].answer.startswith("Zoloft (Serotonergic antidepressant; current")
        assert "tramadol (Tramadol; current" in flag.evidence[0].answer


def test_editing_a_named_condition_changes_every_rule_that_uses_it(tmp_path):
    from screening.rulebook.review import content_hash

    root = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), root)
    rule_id = "medication.several-serotonergic-drugs-with-mdma-or-ayahuasca"
    book = load_rulebook(root)
    before = content_hash(book.rule(rule_id), book)
    path = root / "conditions.yaml"
    path.write_text(path.read_text().replace("within_days: 14", "within_days: 10"))
    book = load_rulebook(root)
    assert content_hash(book.rule(rule_id), book) != before


def test_a_broken_named_condition_file_names_file_and_line(tmp_path):
    root = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), root)
    (root / "conditions.yaml").write_text(
        (root / "conditions.yaml").read_text() + "broken:\n  description: x\n  when: {taking: {class: ssrri}}\n"
    )
    with pytest.raises(RulebookError) as error:
        load_rulebook(root)
    assert "conditions.yaml:" in str(error.value) and "did you mean 'ssri'" in str(error.value)


# ---------------------------------------------------------------------------- rule-file mistakes, no traceback


@pytest.mark.parametrize(
    "edit, message",
    [
        (("written: 2026-11-22", "written: 2026-13-40"), "recent-heart-attack-or-stroke.yaml:39: not a valid date"),
        (("written: 2026-11-22", "written: 2999-01-01"), "written: 2999-01-01 is in the future"),
        (("physical.heart_attack_last_6_months: 'yes'", "physical.heart_attack_last_6_months: [yes]"), "is not an answer"),
    ],
)
def test_rule_file_mistakes_are_messages_with_a_line(tmp_path, capsys, edit, message):
    root = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), root)
    path = root / "cardiovascular/recent-heart-attack-or-stroke.yaml"
    assert edit[0] in path.read_text()
    path.write_text(path.read_text().replace(*edit))
    assert main(["rules", "check", "--rules", str(root), str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def _walk(node):
    """Every mapping inside a rule's ``when:`` tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_every_new_language_feature_is_used_by_a_shipped_rule():
    """The rule format documents these; each is exercised by at least one real rule, not only by tests."""
    import yaml

    used: dict[str, list[str]] = {"class list": [], "count": [], "two-sided window": [], "between": [], "named condition": []}
    named = yaml.safe_load((default_rules_dir() / "conditions.yaml").read_text())
    for path in sorted(default_rules_dir().glob("*/*.yaml")):
        rule = yaml.safe_load(path.read_text())
        if not isinstance(rule, dict) or "when" not in rule:
            continue
        uses = [node["use"] for node in _walk(rule["when"]) if "use" in node]
        for node in [*_walk(rule["when"]), *(n for name in uses for n in _walk(named[name]["when"]))]:
            taking = node.get("taking")
            if isinstance(taking, dict) and isinstance(taking.get("class"), list):
                used["class list"].append(rule["id"])
            for body in (taking, node.get("medications")):
                if isinstance(body, dict) and "after_days" in body:
                    used["two-sided window"].append(rule["id"])
            if isinstance(node.get("medications"), dict) and "at_least" in node["medications"]:
                used["count"].append(rule["id"])
            if "between" in node:
                used["between"].append(rule["id"])
            if "use" in node:
                used["named condition"].append(rule["id"])
    assert all(used.values()), {feature: ids for feature, ids in used.items() if not ids}
