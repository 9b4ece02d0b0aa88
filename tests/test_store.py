"""The decisions store, on a SQLite file and on a real PostgreSQL server: the same tests for both."""

import json

import pytest
import yaml
from conftest import EXAMPLES
from store_support import TODAY, drop_append_only_guards, raw_sql, store, store_url  # noqa: F401 (fixtures)

from screening import screen
from screening.decisions.model import DecisionError, digest_report, make_decision
from screening.decisions.store import GENESIS, Store, StoreError, open_store, schema

DUO = yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())


@pytest.fixture(scope="module")
def duo_report():
    return screen(DUO, today=TODAY)


def decide(report, flag, **fields):
    fields.setdefault("outcome", "noted")
    fields.setdefault("reviewer", "dr.kim")
    return make_decision(report_id=report.report_id, rule_id=flag.rule_id, participant=flag.participant, **fields)


def _flag(report, participant):
    return next(f for f in report.flags if f.participant == participant)


def test_a_new_store_is_at_the_latest_schema_and_reopening_changes_nothing(store_url):
    with open_store(store_url) as first:
        assert first.schema_version() == schema.LATEST
    with open_store(store_url) as again:
        assert again.schema_version() == schema.LATEST
        assert raw_sql(store_url, ["SELECT count(*) FROM screening_schema_version"])[0][0][0] == len(schema.MIGRATIONS)


def test_a_store_from_a_newer_screening_is_refused(store_url):
    open_store(store_url).close()
    raw_sql(store_url, [f"INSERT INTO screening_schema_version VALUES ({schema.LATEST + 1}, 'future', 'x')"])
    with pytest.raises(StoreError, match="newer than this screening"):
        open_store(store_url)


def test_decisions_are_recorded_chained_and_listed(store, duo_report):
    store.add_report(duo_report)
    store.add_report(duo_report)  # idempotent
    a, b = _flag(duo_report, "A"), _flag(duo_report, "B")
    first = store.record_decision(decide(duo_report, a, outcome="addressed", note="washout agreed with the prescriber"))
    second = store.record_decision(decide(duo_report, b, outcome="overridden", reason="addressed-in-the-session-plan"))
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.record_hash)
    assert second.reason_display == "Addressed in the session plan"
    assert [r.decision_id for r in store.decisions_for(duo_report.report_id)] == [first.decision_id, second.decision_id]
    assert store.decisions_for(duo_report.report_id) == [first, second]  # read back exactly as written
    assert [r.seq for r in store.audit_log(reviewer="dr.kim")] == [1, 2]
    assert store.audit_log(reviewer="someone else") == []
    result = store.verify(head=second.record_hash)
    assert result.ok and result.records == 2 and result.head == second.record_hash


def test_a_correction_is_a_new_record_and_the_original_stays(store, duo_report):
    store.add_report(duo_report)
    flag = _flag(duo_report, "A")
    wrong = store.record_decision(decide(duo_report, flag, outcome="noted"))
    fixed = store.record_decision(
        decide(
            duo_report,
            flag,
            outcome="overridden",
            reason="other",
            reason_text="participant's cardiologist reviewed it",
            corrects=wrong.decision_id,
        )
    )
    assert [r.outcome for r in store.decisions_for(duo_report.report_id)] == ["noted", "overridden"]
    assert fixed.corrects == wrong.decision_id and fixed.reason_display == "participant's cardiologist reviewed it"
    other = _flag(duo_report, "B")
    with pytest.raises(DecisionError, match="corrects"):
        store.record_decision(decide(duo_report, other, corrects=wrong.decision_id))


def test_a_decision_that_does_not_fit_the_report_is_refused_and_nothing_is_written(store, duo_report):
    store.add_report(duo_report)
    flag = _flag(duo_report, "B")
    with pytest.raises(DecisionError, match="rule_id.*no flag"):
        store.record_decision(
            make_decision(
                report_id=duo_report.report_id,
                rule_id="psychosis.active-psychosis",
                participant="A",
                outcome="noted",
                reviewer="dr.kim",
            )
        )
    with pytest.raises(DecisionError, match="reason: not one of the override reasons"):
        store.record_decision(decide(duo_report, flag, outcome="overridden", reason="because-i-said-so"))
    with pytest.raises(DecisionError, match="report_id.*not in the store"):
        store.record_decision(
            make_decision(report_id="0" * 64, rule_id=flag.rule_id, participant="B", outcome="noted", reviewer="dr.kim")
        )
    good = decide(duo_report, flag)
    bad = decide(duo_report, flag, outcome="overridden", reason="nope")
    with pytest.raises(DecisionError):
        store.record_decisions([good, bad])  # one transaction: the good one is not kept either
    assert store.audit_log() == [] and store.verify().records == 0


def test_the_database_refuses_to_update_or_delete_a_decision(store, store_url, duo_report):
    store.add_report(duo_report)
    store.record_decision(decide(duo_report, _flag(duo_report, "A")))
    for statement in (
        "UPDATE screening_decisions SET record = 'x'",
        "DELETE FROM screening_decisions",
        "UPDATE screening_reports SET digest = 'x'",
    ):
        with pytest.raises(Exception, match="append-only"):
            raw_sql(store_url, [statement])
    assert store.verify().ok


def _three_decisions(store, report):
    store.add_report(report)
    flags = report.flags[:3]
    return [store.record_decision(decide(report, f)) for f in flags]


def test_verify_finds_an_edited_decision(store, store_url, duo_report):
    records = _three_decisions(store, duo_report)
    drop_append_only_guards(store_url)
    edited = json.loads(raw_sql(store_url, ["SELECT record FROM screening_decisions WHERE seq = 2"])[0][0][0])
    edited["outcome"] = "overridden"
    raw_sql(store_url, [f"UPDATE screening_decisions SET record = '{json.dumps(edited)}' WHERE seq = 2"])
    result = store.verify()
    assert not result.ok and any("record 2" in p and "edited" in p for p in result.problems)
    assert records[2].record_hash == result.head


def test_verify_finds_a_deleted_decision_in_the_middle(store, store_url, duo_report):
    _three_decisions(store, duo_report)
    drop_append_only_guards(store_url)
    raw_sql(store_url, ["DELETE FROM screening_decisions WHERE seq = 2"])
    result = store.verify()
    assert not result.ok and any("record 3" in p and "missing" in p for p in result.problems)


def test_verify_finds_the_newest_decision_deleted_against_a_noted_head(store, store_url, duo_report):
    records = _three_decisions(store, duo_report)
    drop_append_only_guards(store_url)
    raw_sql(store_url, ["DELETE FROM screening_decisions WHERE seq = 3"])
    assert store.verify().ok  # without a noted head, a shortened chain is still a valid chain
    result = store.verify(head=records[-1].record_hash)
    assert not result.ok and any("newest records were deleted" in p for p in result.problems)


def test_verify_finds_an_edited_report_digest(store, store_url, duo_report):
    _three_decisions(store, duo_report)
    drop_append_only_guards(store_url)
    digest = json.loads(raw_sql(store_url, ["SELECT digest FROM screening_reports"])[0][0][0])
    digest["flags"][0]["severity"] = "info"
    text = json.dumps(digest).replace("'", "''")
    raw_sql(store_url, [f"UPDATE screening_reports SET digest = '{text}'"])
    result = store.verify()
    assert not result.ok and any("stored digest was edited" in p for p in result.problems)


def test_a_participant_view_never_shows_decisions_on_pair_flags_or_the_other(store, duo_report):
    store.add_report(duo_report)
    for flag in duo_report.flags:
        store.record_decision(decide(duo_report, flag))
    for pid in ("A", "B"):
        own = {(f.rule_id, f.participant) for f in duo_report.view_for(pid).flags}
        shown = {r.flag_key for r in store.decisions_for(duo_report.report_id, view=pid)}
        assert shown == own
        assert all(participant == pid for _, participant in shown)
    assert any(f.participant == "pair" for f in duo_report.flags)  # the example has pair flags to leave out
    with pytest.raises(DecisionError, match="view"):
        store.decisions_for(duo_report.report_id, view="C")


MARKERS = ("Zzmarkerquetiapine-4417", "ZZMARKER-PID-9")


def _marked_intake():
    intake = yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())
    person = intake["participants"][0]
    person["medications"] = [{"name": f"{MARKERS[0]} 50 mg", "status": "current"}]
    return intake


def _everything_stored(url: str) -> str:
    tables = ["screening_reports", "screening_decisions", "screening_schema_version"]
    return json.dumps(raw_sql(url, [f"SELECT * FROM {t}" for t in tables]), default=str)


def test_the_store_keeps_no_intake_answers_unless_asked(store_url):
    intake = _marked_intake()
    report = screen(intake, today=TODAY)
    marked = [f for f in report.flags if any(MARKERS[0] in str(e.answer) for e in f.evidence)]
    assert marked, "the marker must reach the report's evidence for this test to mean anything"
    with open_store(store_url) as store:
        store.add_report(report)
        store.record_decision(decide(report, marked[0]))
        assert MARKERS[0].lower() not in _everything_stored(store_url).lower()
        assert store.stored_intake(report.report_id) is None
    if not store_url.startswith("postgresql"):  # the file and its write-ahead log, byte for byte
        raw = b"".join(p.read_bytes() for p in __import__("pathlib").Path(store_url).parent.glob("decisions.sqlite*"))
        assert MARKERS[0].lower().encode() not in raw.lower()


def test_the_intake_is_kept_only_when_the_caller_passes_it(store_url):
    intake = _marked_intake()
    report = screen(intake, today=TODAY)
    with open_store(store_url) as store:
        store.add_report(report, intake=intake)
        assert MARKERS[0] in store.stored_intake(report.report_id)
        other = yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())
        with pytest.raises(DecisionError, match="intake_sha256 differs"):
            store.add_report(report, intake=other)


def test_a_later_migration_is_applied_once_in_order(store_url, monkeypatch):
    open_store(store_url).close()
    applied = []

    def add_index(conn):
        applied.append(2)
        conn.execute(__import__("sqlalchemy").text("CREATE INDEX screening_test_by_prev ON screening_decisions (prev_hash, seq)"))

    shipped = schema.MIGRATIONS
    later = schema.LATEST + 1
    monkeypatch.setattr(schema, "MIGRATIONS", shipped + [(later, "test: an index", add_index)])
    monkeypatch.setattr(schema, "LATEST", later)
    with open_store(store_url) as store:
        assert store.schema_version() == later
    open_store(store_url).close()
    assert applied == [2]
    rows = raw_sql(store_url, ["SELECT version, description FROM screening_schema_version ORDER BY version"])[0]
    assert [tuple(r) for r in rows] == [*((n, d) for n, d, _ in shipped), (later, "test: an index")]


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://u:p@127.0.0.1/db", "unsupported store URL scheme 'mysql'"),
        ("postgresql://someone:hunter2@127.0.0.1:1/none", "cannot reach the decisions store 127.0.0.1:1/none"),
        ("/nonexistent-folder/sub/decisions.sqlite", "cannot reach the decisions store"),
    ],
)
def test_a_store_that_cannot_be_opened_says_why_without_the_password(url, message):
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert message in str(caught.value) and "hunter2" not in str(caught.value)


TABLES = ("screening_decisions", "screening_reports", "screening_report_chain", "screening_schema_version")


def test_the_database_refuses_to_empty_a_table(store, store_url, duo_report):
    """PostgreSQL's row triggers do not fire on TRUNCATE: a statement trigger refuses it (issue 27, 1)."""
    _three_decisions(store, duo_report)
    for table in TABLES[:3]:
        statement = f"TRUNCATE {table} CASCADE" if store_url.startswith("postgresql") else f"DELETE FROM {table}"
        with pytest.raises(Exception, match="append-only"):
            raw_sql(store_url, [statement])
    result = store.verify()
    assert result.ok and result.records == 3 and result.reports == 1


def test_verify_finds_a_report_without_decisions_edited_or_deleted(store, store_url, duo_report):
    """A report digest with no decisions is in the reports' chain: editing or deleting it is found (issue 27, 10c)."""
    store.add_report(duo_report)
    noted = store.verify()
    assert noted.ok and noted.reports == 1 and noted.records == 0
    drop_append_only_guards(store_url)
    digest = json.loads(raw_sql(store_url, ["SELECT digest FROM screening_reports"])[0][0][0])
    digest["flags"] = digest["flags"][1:]
    text = json.dumps(digest, sort_keys=True, separators=(",", ":"))
    sha = __import__("hashlib").sha256(text.encode()).hexdigest()
    raw_sql(store_url, [f"UPDATE screening_reports SET digest = '{text.replace(chr(39), chr(39) * 2)}', digest_sha256 = '{sha}'"])
    edited = store.verify()
    assert not edited.ok and any("digest was replaced" in p for p in edited.problems)
    raw_sql(
        store_url, ["DELETE FROM screening_report_views", "DELETE FROM screening_report_chain", "DELETE FROM screening_reports"]
    )
    assert store.verify().ok  # an empty store is a valid store ...
    deleted = store.verify(head=noted.full_head)  # ... but not the one noted
    assert not deleted.ok and any("reports were deleted" in p for p in deleted.problems)


MALFORMED = [
    ("decisions", "record = '[]'", "record 2: not readable"),
    ("decisions", "record = '1'", "record 2: not readable"),
    ("decisions", "record = 'null'", "record 2: not readable"),
    ("decisions", "record = 'not json {'", "record 2: not readable"),
    ("decisions", 'record = replace(record, \'"outcome":"noted"\', \'"outcome":"ZZSECRET"\')', "record 2: not readable"),
    ("decisions", "seq = 'x'", "not readable"),
    ("reports", "digest = '{}'", "not readable"),
    ("reports", "digest = 'ZZSECRET not json'", "not readable"),
]


@pytest.mark.parametrize("table, change, problem", MALFORMED)
def test_a_malformed_row_is_reported_not_readable_never_raised_or_quoted(store, store_url, duo_report, table, change, problem):
    """Rows an administrator mangled: verify says NOT intact, naming the record, quoting nothing (issue 27, 2)."""
    if change.startswith("seq") and store_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL bigint column cannot hold 'x'")
    _three_decisions(store, duo_report)
    drop_append_only_guards(store_url)
    where = " WHERE seq = 2" if table == "decisions" else ""
    raw_sql(store_url, [f"UPDATE screening_{table} SET {change}{where}"])
    result = store.verify()
    assert not result.ok and any(problem in p for p in result.problems), result.problems
    assert not any("ZZSECRET" in p or "input_value" in p for p in result.problems)
    if table == "decisions" and change.startswith("record"):
        unreadable: list[str] = []
        listed = store.audit_log(unreadable=unreadable)
        assert len(listed) == 2 and len(unreadable) == 1 and "not readable" in unreadable[0]
        with pytest.raises(StoreError, match="not readable"):
            store.audit_log()


# ---------------------------------------------------------------- views bound to their report (issue 29)


def test_a_participants_copy_is_traced_to_its_report_by_its_view_id(store, duo_report):
    digest = store.add_report(duo_report)
    assert set(digest.view_ids) == {"A", "B"}
    for pid in duo_report.participants:
        view = duo_report.view_for(pid)
        assert view.report_id == "" and view.view_id == digest.view_ids[pid]
        assert [(d.report_id, who) for d, who in store.reports_for_view(view.view_id)] == [(duo_report.report_id, pid)]
    assert store.reports_for_view("0" * 64) == []
    assert store.verify().ok


def test_a_copy_unchanged_by_a_re_screening_is_traced_to_both_reports(store, duo_report):
    """A's copy shows only A's answers: when only B's change, A's copy (and its id) is the same for both reports."""
    intake = yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())
    intake["participants"][1]["physical"]["systolic_bp"] = 160
    later = screen(intake, today=TODAY)
    store.add_report(duo_report)
    store.add_report(later)
    view_a = later.view_for("A").view_id
    assert view_a == duo_report.view_for("A").view_id
    assert [d.report_id for d, _ in store.reports_for_view(view_a)] == [duo_report.report_id, later.report_id]
    assert [d.report_id for d, _ in store.reports_for_view(later.view_for("B").view_id)] == [later.report_id]


def test_a_store_from_before_view_ids_migrates_and_its_digests_keep_verifying(store_url, duo_report, monkeypatch):
    """Digests stored before migration 3 have no view ids: they are hashed as they were, and still verify."""
    with monkeypatch.context() as before:
        before.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])
        before.setattr(schema, "LATEST", 2)
        before.setattr(schema, "view_rows", lambda *_: [])  # screening 2 had no view index to write ...
        before.setattr(Store, "_verify_views", staticmethod(lambda *_: None))  # ... nor to check
        with open_store(store_url) as old:
            old_digest = digest_report(duo_report).model_copy(update={"view_ids": {}})
            old.add_report(old_digest)
            old.record_decision(decide(duo_report, _flag(duo_report, "B")))
            noted = old.verify()
    stored = raw_sql(store_url, ["SELECT digest, digest_sha256 FROM screening_reports"])[0]
    assert "view_ids" not in stored[0][0]
    with open_store(store_url) as store:
        assert store.schema_version() == 3
        result = store.verify(head=noted.full_head)
        assert result.ok, result.problems
        assert store.report(duo_report.report_id).sha256() == stored[0][1]  # hashed as it was
        assert store.reports_for_view(duo_report.view_for("A").view_id) == []  # nothing bound it then
        intake = yaml.safe_load((EXAMPLES / "duo-mdma.yaml").read_text())
        intake["participants"][1]["physical"]["systolic_bp"] = 160
        later = screen(intake, today=TODAY)
        store.add_report(later)
        assert [d.report_id for d, _ in store.reports_for_view(later.view_for("B").view_id)] == [later.report_id]
        assert store.verify().ok


def test_verify_finds_a_view_binding_inserted_or_deleted(store, store_url, duo_report):
    store.add_report(duo_report)
    drop_append_only_guards(store_url)
    forged = "f" * 64
    raw_sql(
        store_url,
        [f"INSERT INTO screening_report_views VALUES ('{forged}', '{duo_report.report_id}', 'A')"],
    )
    assert store.reports_for_view(forged) == []  # the digest does not list it: not returned
    result = store.verify()
    assert not result.ok and any("whose digest does not list it (inserted)" in p for p in result.problems)
    raw_sql(store_url, [f"DELETE FROM screening_report_views WHERE view_id = '{forged}'"])
    assert store.verify().ok
    raw_sql(store_url, ["DELETE FROM screening_report_views"])
    result = store.verify()
    assert not result.ok and sum("missing from the view index (deleted)" in p for p in result.problems) == 2


def test_the_database_refuses_to_change_a_view_binding(store, store_url, duo_report):
    store.add_report(duo_report)
    emptying = "TRUNCATE screening_report_views" if store_url.startswith("postgresql") else "DELETE FROM screening_report_views"
    for statement in ("UPDATE screening_report_views SET participant = 'B'", emptying):
        with pytest.raises(Exception, match="append-only"):
            raw_sql(store_url, [statement])
    assert store.verify().ok
