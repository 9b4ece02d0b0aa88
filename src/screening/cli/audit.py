"""The command line of the decisions store: ``screening decide``, ``screening audit``, ``screening diff``.

Kept apart from cli.py so the core commands never import the store. Exit codes: 0 done; 1
``audit verify`` found problems or ``audit view`` found no report; 2 usage, an invalid decision or a store error (nothing was
written).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ScreeningError
from ..report import display
from ..report.model import Report, compute_report_id, from_version_1, is_version_1, v1_report_id

if TYPE_CHECKING:
    from ..decisions.model import DecisionRecord
    from ..decisions.store import Store

COMMANDS = ("decide", "audit", "diff")
STORE_HELP = "a SQLite file or sqlite:///PATH, or postgresql://USER:PASSWORD@HOST:PORT/DB (default: $SCREENING_STORE or ./screening-decisions.sqlite)"
CSV_FIELDS = [
    "seq",
    "decision_id",
    "recorded_at",
    "decided_at",
    "report_id",
    "rule_id",
    "participant",
    "outcome",
    "reason",
    "reason_display",
    "reason_text",
    "reviewer",
    "note",
    "corrects",
    "report_digest",
    "prev_hash",
    "record_hash",
]


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    decide = sub.add_parser("decide", help="record a clinician's decision on one flag of a report")
    decide.add_argument("report", help="the clinician report (JSON from `screening screen --format json`)")
    decide.add_argument("--flag", required=True, metavar="RULE_ID", help="the flag's rule id")
    decide.add_argument("--participant", help="the flag's participant id or 'pair' (needed when the rule flagged more than one)")
    decide.add_argument("--outcome", required=True, choices=["noted", "addressed", "overridden"])
    decide.add_argument("--reason", help="for overridden: the code of one of the rule's override reasons, or 'other'")
    decide.add_argument("--reason-text", help="the reason in words (required with --reason other)")
    decide.add_argument("--reviewer", required=True, help="the clinician's id")
    decide.add_argument("--note", help="a note for the record")
    decide.add_argument("--corrects", metavar="DECISION_ID", help="an earlier decision on this flag that this one corrects")
    decide.add_argument("--rules", help="the rules folder the report was made with (for its override reasons)")
    decide.add_argument("--store", help=STORE_HELP)

    audit = sub.add_parser("audit", help="list, export or verify the decisions store")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    listing = audit_sub.add_parser("list", help="the decisions in the order they were recorded")
    export = audit_sub.add_parser("export", help="every decision record, as JSON or CSV")
    export.add_argument("--format", choices=["json", "csv"], default="json")
    for p in (listing, export):
        p.add_argument("--report", metavar="REPORT_ID", help="only this report's decisions")
        p.add_argument("--view", default="clinician", help="with --report: 'clinician' (default) or a participant's own view")
        p.add_argument("--reviewer", help="only this reviewer's decisions")
        p.add_argument("--store", help=STORE_HELP)
    verify = audit_sub.add_parser("verify", help="recompute the hash chain; exit 1 when a record was edited, deleted or inserted")
    verify.add_argument(
        "--head",
        help="a head printed by an earlier verify (DECISIONS:REPORTS, or the decisions' alone): it must still be in the chain",
    )
    verify.add_argument("--store", help=STORE_HELP)
    view = audit_sub.add_parser("view", help="the report a participant's copy belongs to, from the view id printed on it")
    view.add_argument("view_id", metavar="VIEW_ID", help="the copy's view_id (its JSON's view_id)")
    view.add_argument("--store", help=STORE_HELP)

    diff = sub.add_parser("diff", help="compare two reports of the same people; carry forward decisions on unchanged flags")
    diff.add_argument("old", help="the earlier clinician report (JSON)")
    diff.add_argument("new", help="the new clinician report (JSON)")
    diff.add_argument("--format", choices=["text", "json"], default="text")
    diff.add_argument("--store", help=STORE_HELP + "; decisions on the earlier report are read from it")


def read_report(path: str) -> Report:
    """A clinician report from a JSON file, refused when its content does not match its report_id."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScreeningError(f"{path}: cannot read the report: {getattr(error, 'strerror', None) or error}") from None
    try:
        data = json.loads(text)
        if is_version_1(data):  # written before report contract 2: checked as version 1 computed its id
            if v1_report_id(data) != data.get("report_id"):
                raise ScreeningError(f"{path}: the report's content does not match its report_id (edited after screening)")
            report = from_version_1(data)
            if report.view != "clinician":
                raise ScreeningError(f"{path}: this is a participant's view; decisions are made on the clinician report")
            return report
        report = Report.model_validate(data)
    except ScreeningError:
        raise
    except ValueError as error:
        fields = sorted(
            {".".join(str(p) for p in e["loc"]) for e in getattr(error, "errors", lambda **_: [])(include_input=False)}
        )
        raise ScreeningError(
            f"{path}: not a screening report (JSON from `screening screen --format json`)"
            + (f"; problems at: {', '.join(fields[:5])}" if fields else "")
        ) from None
    if report.view != "clinician":
        raise ScreeningError(f"{path}: this is a participant's view; decisions are made on the clinician report")
    if compute_report_id(report) != report.report_id:
        raise ScreeningError(f"{path}: the report's content does not match its report_id (edited after screening)")
    return report


def shown(value: object) -> str:
    """Stored or remote text for a terminal line: the reports' display escaping, newlines shown too."""
    return display.text(value).replace("\n", "\\n")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ TAB or CR gets a leading
    apostrophe (OWASP, CSV injection). Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _store(args: argparse.Namespace) -> Store:
    from ..decisions.store import open_store

    return open_store(args.store)


def _decide(args: argparse.Namespace) -> int:
    from ..decisions.model import make_decision

    report = read_report(args.report)
    participant = args.participant
    if participant is None:
        who = [f.participant for f in report.flags if f.rule_id == args.flag]
        if len(who) > 1:
            raise ScreeningError(f"--participant: {args.flag} flagged {', '.join(who)}; say which")
        participant = who[0] if who else "?"
    decision = make_decision(
        report_id=report.report_id,
        rule_id=args.flag,
        participant=participant,
        outcome=args.outcome,
        reason=args.reason,
        reason_text=args.reason_text,
        reviewer=args.reviewer,
        note=args.note,
        corrects=args.corrects,
    )
    book = None
    if args.rules:
        from ..rulebook.loading import load

        book = load(args.rules)
        if book.sha256 != report.rulebook.sha256:
            raise ScreeningError("--rules: this rulebook is not the one the report was made with (sha256 differs)")
    with _store(args) as store:
        store.add_report(report, rulebook=book)
        record = store.record_decision(decision)
    print(record.model_dump_json(indent=2))
    return 0


def _records(args: argparse.Namespace, store: Store) -> list[DecisionRecord]:
    """The records asked for; a record that is not readable is skipped and named on stderr."""
    unreadable: list[str] = []
    if args.view != "clinician":
        if not args.report:
            raise ScreeningError("--view: a participant's view needs --report REPORT_ID")
        records = store.decisions_for(args.report, view=args.view, unreadable=unreadable)
    else:
        records = store.audit_log(report_id=args.report, unreadable=unreadable)
    for label in unreadable:
        print(f"screening: {label}; skipped (run `screening audit verify`)", file=sys.stderr)
    return [r for r in records if args.reviewer is None or r.reviewer == args.reviewer]


def _audit(args: argparse.Namespace) -> int:
    with _store(args) as store:
        if args.audit_command == "verify":
            result = store.verify(head=args.head)
            for problem in result.problems:
                print(f"screening: {problem}", file=sys.stderr)
            state = "intact" if result.ok else f"NOT intact ({len(result.problems)} problems)"
            print(f"{result.records} decision records and {result.reports} reports, chain {state}; head {result.full_head}")
            return 0 if result.ok else 1
        if args.audit_command == "view":
            return _view(store, args.view_id.strip().lower())
        records = _records(args, store)
    if args.audit_command == "list":
        for r in records:
            reason = f" ({r.reason_display})" if r.reason_display else ""
            fix = f" corrects {r.corrects[:8]}" if r.corrects else ""
            print(
                f"{r.seq:>6} {r.recorded_at.isoformat(timespec='seconds')} report {shown(r.report_id[:12])} "
                f"{shown(r.rule_id)} [{shown(r.participant)}] {r.outcome}{shown(reason)} by {shown(r.reviewer)}"
                f"{shown(fix)} id {shown(r.decision_id)}"
            )
        if not records:
            print("no decisions")
        return 0
    if args.format == "json":
        print(json.dumps([r.model_dump(mode="json") for r in records], indent=2, ensure_ascii=False))
    else:
        out = io.StringIO()
        writer = csv.DictWriter(
            out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\r\n"
        )  # RFC 4180: a CR in a cell is quoted
        writer.writeheader()
        for r in records:
            writer.writerow({k: csv_cell(v) for k, v in r.model_dump(mode="json").items()})
        sys.stdout.write(out.getvalue())
    return 0


def _view(store: Store, view_id: str) -> int:
    """Exit 0 with the report(s) the copy belongs to; 1 when no stored report lists that view id."""
    found = store.reports_for_view(view_id)
    for digest, participant in found:
        print(f"view {shown(view_id[:12])} is participant {shown(participant)}'s copy of report {digest.report_id}")
    if not found:
        print(f"screening: no stored report lists view {shown(view_id[:12])}", file=sys.stderr)
        return 1
    return 0


def _diff(args: argparse.Namespace) -> int:
    from ..decisions.rescreen import diff_reports, render_diff_text

    old, new = read_report(args.old), read_report(args.new)
    decisions: list[DecisionRecord] = []
    if args.store or os.environ.get("SCREENING_STORE") or Path("screening-decisions.sqlite").exists():
        with _store(args) as store:
            decisions = store.decisions_for(old.report_id)
    result = diff_reports(old, new, decisions)
    if args.format == "json":
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(render_diff_text(result))
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return {"decide": _decide, "audit": _audit, "diff": _diff}[args.command](args)
    except ScreeningError as error:  # DecisionError, StoreError, a bad report file, the store extra missing
        print(f"screening: {error}", file=sys.stderr)
        return 2


__all__ = ["add_parsers", "run", "read_report", "COMMANDS"]
