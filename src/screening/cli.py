"""The command line: ``screening screen``, ``screening rules check|test``, ``screening schema``.

Exit codes: 0 screened (flags or not); 1 only with --fail-on and a flag at or above it;
2 usage or rulebook error; 3 invalid intake; 4 the engine failed (the screening
fails closed: no report). Results go to stdout, diagnostics to stderr, and
nothing partial is printed when a step fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter

from . import __version__
from .errors import EngineError, IntakeError, RulebookError, ScreeningError
from .intake import Intake
from .report import render_text, report_schema
from .rulebook import SEVERITY_ORDER, load

EXIT_OK, EXIT_FLAGGED, EXIT_USAGE, EXIT_INTAKE, EXIT_ENGINE = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="screening", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"screening {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    screen = sub.add_parser("screen", help="screen an intake (JSON or YAML) and print the report")
    screen.add_argument("file", nargs="?", help="the intake file")
    screen.add_argument("--batch", metavar="JSONL", help="screen every line of a JSON-lines file (- for stdin); prints one JSON report or error record per line, in order")
    screen.add_argument("--jobs", type=int, help="worker processes for --batch (default: all cores)")
    screen.add_argument("--format", choices=["text", "json", "cds-hooks", "html"], default=None,
                        help="text (default), json, cds-hooks (a CDS Hooks response, one card per finding) or html (a printable page); --batch writes JSON lines only")
    screen.add_argument("--paper", choices=["a4", "letter"], default="a4", help="paper size for --format html")
    screen.add_argument("--include-private", action="store_true",
                        help="with --view ID: keep relationship, violence and harm points on the participant's copy")
    screen.add_argument("--fail-on", choices=list(SEVERITY_ORDER), help="exit 1 when a flag has this severity or higher")
    screen.add_argument("--view", default="clinician", help="'clinician' (default), or a participant's id (also written participant:ID) for that participant's own view")
    screen.add_argument("--engine", choices=["auto", "cross-check", "durable", "python"], default="auto", help="auto (default): durable_rules and the reference evaluator cross-checked where durable_rules imports, the reference evaluator elsewhere; durable or python: one engine alone, without the cross-check")
    screen.add_argument("--today", type=dt.date.fromisoformat, help="count medication timing to this date when the session has no planned date (YYYY-MM-DD)")
    screen.add_argument("--rules", help="a rules folder to use instead of the shipped rulebook")
    screen.add_argument("--program", help="screen under a program of rules/programs/ (default, oregon-ops, colorado-nmp, clinical-trial, practice, ...)")

    rules = sub.add_parser("rules", help="check or test the rulebook")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_sub.add_parser("check", help="validate every rule file, vocabulary and program")
    check.add_argument("--rules", help="the rules folder (default: the shipped rulebook)")
    test = rules_sub.add_parser("test", help="run every rule's examples")
    test.add_argument("--rules", help="the rules folder (default: the shipped rulebook)")
    test.add_argument("--engine", choices=["auto", "cross-check", "durable", "python"], default="auto")
    test.add_argument("rule_ids", nargs="*", help="only these rules")

    docs = sub.add_parser("docs", help="generate the rule documentation for reviewers")
    docs_sub = docs.add_subparsers(dest="docs_command", required=True)
    build = docs_sub.add_parser("build", help="write the Markdown pages (index, one page per rule, medications, traceability)")
    build.add_argument("--out", default="docs/rules", help="the output folder (default: docs/rules)")
    build.add_argument("--rules", help="the rules folder (default: the shipped rulebook)")

    fhir = sub.add_parser("fhir", help="FHIR R4: the intake as a Questionnaire, an intake as a QuestionnaireResponse")
    fhir_sub = fhir.add_subparsers(dest="fhir_command", required=True)
    fhir_questionnaire = fhir_sub.add_parser("questionnaire", help="print the intake Questionnaire (JSON)")
    fhir_questionnaire.add_argument("--program", help="the Questionnaire of a program (its prescribed wording and required questions)")
    fhir_sub.add_parser("codesystem", help="print the CodeSystem of the yes/no/unsure answers (JSON)")
    response = fhir_sub.add_parser("response", help="print an intake as a QuestionnaireResponse (a Bundle of two for a duo)")
    response.add_argument("file", help="the intake file (JSON or YAML)")

    schema = sub.add_parser("schema", help="print a JSON Schema")
    schema.add_argument("which", choices=["intake", "report"])
    return parser


def _rendered(report, args: argparse.Namespace) -> str:
    if args.format == "json":
        return report.to_json() + "\n"
    if args.format == "html":
        from .html_report import render_html

        return render_html(report, paper=args.paper, include_private=args.include_private)
    if report.view.startswith("participant:") and args.include_private:
        from .report import render_participant_text

        return render_participant_text(report, include_private=True)
    return render_text(report)


def _screen(args: argparse.Namespace) -> int:
    from .screener import read_intake, screen

    if args.batch or not args.file:
        if not args.batch or args.file or args.view != "clinician":
            print("screening: give an intake file, or --batch FILE (clinician view, JSON lines)", file=sys.stderr)
            return EXIT_USAGE
        if args.format != "json" and args.format_given:
            print(f"screening: --batch writes JSON lines; --format {args.format} is not available with it", file=sys.stderr)
            return EXIT_USAGE
        from .batch import bounded_jobs, run_cli

        try:
            bounded_jobs(args.jobs)
        except ValueError as error:
            print(f"screening: --jobs: {error}", file=sys.stderr)
            return EXIT_USAGE
        return run_cli(args)
    if args.jobs is not None:
        print("screening: --jobs applies to --batch only", file=sys.stderr)
        return EXIT_USAGE
    from .programs import resolve
    from .rulebook import default

    book, _ = resolve(load(args.rules) if args.rules else default(), args.program)
    from .fhir import read_intake_file  # also reads a FHIR QuestionnaireResponse or duo Bundle

    intake = read_intake_file(args.file, today=args.today)
    report = screen(intake, rulebook=book, engine=args.engine, today=args.today)
    if args.view != "clinician":
        try:
            report = report.view_for(args.view)
        except ValueError as error:
            print(f"screening: {error}", file=sys.stderr)
            return EXIT_USAGE
    if args.format == "cds-hooks":
        from .cds_hooks import render_cds_hooks

        sys.stdout.write(render_cds_hooks(report, book))
    else:
        sys.stdout.write(_rendered(report, args))
    if args.fail_on:
        threshold = SEVERITY_ORDER[args.fail_on]
        if any(SEVERITY_ORDER[f.severity] >= threshold for f in report.flags):
            return EXIT_FLAGGED
    return EXIT_OK


def _rules_check(args: argparse.Namespace) -> int:
    from .engine import limit_problems

    book = load(args.rules)
    rules = book.active
    from .programs import load_programs, program_problems

    too_complex = limit_problems(rules) + program_problems(book)
    if too_complex:
        raise RulebookError(too_complex)
    by_category = Counter(r.meta.category for r in rules)
    by_severity = Counter(r.meta.severity for r in rules)
    drafts = [r.id for r in rules if r.meta.status == "draft"]
    print(f"rulebook {book.version}: {len(book.rules)} rules, {len(book.vocabulary.entries)} vocabulary entries, all valid")
    print(f"sha256 {book.sha256}")
    print("rules per category: " + ", ".join(f"{c} {n}" for c, n in sorted(by_category.items())))
    print("rules per severity: " + ", ".join(f"{s} {by_severity.get(s, 0)}" for s in SEVERITY_ORDER))
    print(f"status draft (not yet reviewed by a clinician): {len(drafts)} of {len(rules)}")
    programs = load_programs(book)
    print(f"programs ({len(programs)}, all valid): " + ", ".join(f"{p.id} {p.meta.version}" for p in programs.values()))
    return EXIT_OK


def _rules_test(args: argparse.Namespace) -> int:
    from .rule_examples import run_examples

    book = load(args.rules)
    results = run_examples(book, args.engine, set(args.rule_ids) or None)
    failed = [r for r in results if not r.passed]
    by_rule: dict[str, list] = {}
    for result in results:
        by_rule.setdefault(result.rule_id, []).append(result)
    for rule_id, rule_results in by_rule.items():
        bad = sum(not r.passed for r in rule_results)
        print(f"{rule_id}: {len(rule_results) - bad} passed, {bad} failed")
        for result in rule_results:
            mark = "ok  " if result.passed else "FAIL"
            print(f"  {mark} {result.example} (expect {result.expect}) -> {result.detail}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return EXIT_FLAGGED if failed else EXIT_OK


def _docs_build(args: argparse.Namespace) -> int:
    from .docs import build

    pages = build(load(args.rules), args.out)
    print(f"wrote {len(pages)} pages to {args.out}")
    return EXIT_OK


def _fhir(args: argparse.Namespace) -> int:
    from . import fhir

    if args.fhir_command == "questionnaire":
        resource = fhir.questionnaire(args.program)
    elif args.fhir_command == "codesystem":
        resource = fhir.answer_code_system()
    else:
        from .screener import read_intake

        resource = fhir.response_from_intake(read_intake(args.file))
    print(json.dumps(resource, indent=2, ensure_ascii=False))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "command", None) == "screen":
        args.format_given = args.format is not None
        args.format = args.format or ("json" if args.batch else "text")
    try:
        if args.command == "screen":
            return _screen(args)
        if args.command == "rules":
            return _rules_check(args) if args.rules_command == "check" else _rules_test(args)
        if args.command == "docs":
            return _docs_build(args)
        if args.command == "fhir":
            return _fhir(args)
        schema = Intake.model_json_schema() if args.which == "intake" else report_schema()
        print(json.dumps(schema, indent=2))
        return EXIT_OK
    except IntakeError as error:
        print(f"screening: {error}", file=sys.stderr)
        return EXIT_INTAKE
    except RulebookError as error:
        print(f"screening: {error}", file=sys.stderr)
        return EXIT_USAGE
    except EngineError as error:
        print(f"screening: {error}", file=sys.stderr)
        return EXIT_ENGINE
    except ScreeningError as error:  # e.g. an optional extra is missing: pip install 'screening[fhir]'
        print(f"screening: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        print("screening: interrupted", file=sys.stderr)
        return 130
