"""The command line: screening screen, rules check|test, docs build, fhir, schema.

Exit codes: 0 screened (flags or not); 1 only with --fail-on and a flag at or above it;
2 usage or rulebook error; 3 invalid intake; 4 the engine failed (the screening
fails closed: no report). Results go to stdout, diagnostics to stderr, and
nothing partial is printed when a step fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import warnings
from collections import Counter
from pathlib import Path

from ..engines import durable
from ..engines import engine as engine_module
from ..engines.engine import FallbackEngineWarning
from ..errors import EngineError, IntakeError, RulebookError, ScreeningError
from ..i18n import LANGUAGES, UnknownLanguage, checked_language
from ..report.model import Report, render_text, report_schema
from ..rulebook.loading import SEVERITY_ORDER, Rulebook, load
from ..version import __version__

EXIT_OK, EXIT_FLAGGED, EXIT_USAGE, EXIT_INTAKE, EXIT_ENGINE = 0, 1, 2, 3, 4
ENGINES = list(engine_module.ENGINE_NAMES)
DESCRIPTION = "Screen intake answers for psychedelic-assisted sessions against contraindication rules, for a clinician to review."


def _lang(text: str) -> str:
    """A language with a catalogue; an unknown one is a usage error naming the available ones."""
    try:
        return checked_language(text)
    except UnknownLanguage as error:
        raise argparse.ArgumentTypeError(str(error)) from None


_LANG_HELP = f"the language of the texts: {', '.join(LANGUAGES)} (default en)"


def _base(text: str) -> str:
    """--base / --fhir-base: an absolute http(s) URL (a usage error otherwise)."""
    from ..interop.fhir import questionnaire_url

    try:
        questionnaire_url(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text.rstrip("/")


def _date(text: str) -> dt.date:
    """--today: a calendar date; argparse turns the error into a usage message (exit 2)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a date as YYYY-MM-DD, for example 2026-11-01") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="screening", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"screening {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    screen = sub.add_parser("screen", help="screen an intake (JSON or YAML) and print the report")
    screen.add_argument(
        "file", nargs="?", help="the intake file (JSON, YAML or a FHIR QuestionnaireResponse or Bundle); - reads stdin"
    )
    screen.add_argument(
        "--batch",
        metavar="JSONL",
        help="screen every line of a JSON-lines file (- for stdin); prints one JSON report or error record per line, in order",
    )
    screen.add_argument("--jobs", type=int, help="worker processes for --batch (default: all cores)")
    screen.add_argument(
        "--format",
        choices=["text", "json", "cds-hooks", "html"],
        default=None,
        help="text (default), json, cds-hooks (a CDS Hooks response, one card per finding) or html (a printable page); --batch writes JSON lines only",
    )
    screen.add_argument("--paper", choices=["a4", "letter"], default="a4", help="paper size for --format html")
    screen.add_argument("--lang", type=_lang, default="en", help=_LANG_HELP)
    screen.add_argument(
        "--include-private",
        action="store_true",
        help="with --view ID: keep relationship, violence and harm points on the participant's copy",
    )
    screen.add_argument(
        "--previous",
        metavar="OLD.json",
        help="an earlier clinician report of the same people (JSON): the text report starts with what changed since",
    )
    screen.add_argument("--fail-on", choices=list(SEVERITY_ORDER), help="exit 1 when a flag has this severity or higher")
    screen.add_argument(
        "--view",
        default="clinician",
        help="'clinician' (default), or a participant's id (also written participant:ID) for that participant's own view",
    )
    screen.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="auto (default): durable_rules and the reference evaluator cross-checked where durable_rules imports, the reference evaluator elsewhere; durable or python: one engine alone, without the cross-check",
    )
    screen.add_argument(
        "--today",
        type=_date,
        metavar="YYYY-MM-DD",
        help="count medication timing to this date when the session has no planned date (YYYY-MM-DD)",
    )
    screen.add_argument("--rules", help="a rules folder to use instead of the shipped rulebook")
    screen.add_argument(
        "--fhir-base",
        metavar="URL",
        type=_base,
        help="read FHIR responses to the Questionnaire published under this canonical base",
    )
    screen.add_argument(
        "--program",
        help="screen under a program of rules/programs/ (default, oregon-ops, colorado-nmp, clinical-trial, practice, ...)",
    )

    rules = sub.add_parser("rules", help="check, test, review or scaffold rules")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_sub.add_parser("check", help="validate every rule file, the vocabulary, programs, reviews and examples")
    check.add_argument("--rules", help="the rules folder (default: the shipped rulebook)")
    check.add_argument("targets", nargs="*", metavar="RULE", help="only these rules: ids or rule files")
    test = rules_sub.add_parser("test", help="run every rule's examples")
    test.add_argument("--rules", help="the rules folder (default: the shipped rulebook)")
    test.add_argument("--engine", choices=ENGINES, default="auto")
    test.add_argument("--explain", action="store_true", help="show each part of when: against every failing example")
    test.add_argument("rule_ids", nargs="*", metavar="RULE", help="only these rules: ids or rule files")
    review = rules_sub.add_parser("review", help="record a clinical review of a rule, or show where it stands")
    review.add_argument("rule", help="the rule id (or its file)")
    review.add_argument("--rules", help="the rules folder (default: the shipped rulebook)")
    review.add_argument(
        "--decision",
        choices=["approved", "changes-requested", "rejected"],
        help="record this decision (without it: show the rule's review state)",
    )
    review.add_argument("--reviewer", help="the reviewer's name")
    review.add_argument(
        "--role",
        help="the reviewer's role: psychiatrist, physician, clinical-pharmacist, psychologist, nurse, facilitator or other:ROLE",
    )
    review.add_argument("--registration", default="", help="the reviewer's registration number (e.g. BIG, NPI), optional")
    review.add_argument("--comment", default="", help="what to change, or a note on the approval")
    review.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="ITEM=yes|no|n/a",
        help="a checklist answer (docs/rules/review-checklist.md); repeat for each item",
    )
    review.add_argument("--date", type=dt.date.fromisoformat, help="the review date (default: today)")
    new = rules_sub.add_parser("new", help="write a new draft rule file to fill in")
    new.add_argument("category")
    new.add_argument("rule_id", metavar="ID")
    new.add_argument("--rules", help="the rules folder (default: the shipped rulebook)")

    meds = sub.add_parser("meds", help="the medication vocabulary")
    meds_sub = meds.add_subparsers(dest="meds_command", required=True)
    match = meds_sub.add_parser("match", help="show how a written medication line is read")
    match.add_argument("name", help='the line as a participant wrote it, e.g. "Zoloft 50mg and lithium"')
    match.add_argument("--rules", help="the rules folder (default: the shipped rulebook)")

    docs = sub.add_parser("docs", help="generate the rule documentation for reviewers")
    docs_sub = docs.add_subparsers(dest="docs_command", required=True)
    build = docs_sub.add_parser("build", help="write the Markdown pages (index, one page per rule, medications, traceability)")
    build.add_argument("--out", default="docs/rules", help="the output folder (default: docs/rules)")
    build.add_argument("--rules", help="the rules folder (default: the shipped rulebook)")
    diff = docs_sub.add_parser(
        "diff", help="list the rules whose logic, severity, text, sources or examples changed since a git ref or rulebook version"
    )
    diff.add_argument("--since", required=True, metavar="REF", help="a git ref (tag, branch, commit) or a rulebook version")
    diff.add_argument("--rules", help="the rules folder (default: the shipped rulebook)")

    fhir = sub.add_parser("fhir", help="FHIR R4: the intake as a Questionnaire, an intake as a QuestionnaireResponse")
    fhir_sub = fhir.add_subparsers(dest="fhir_command", required=True)
    base_help = "the canonical base the resources are published under (default: https://screening.invalid/fhir)"
    fhir_questionnaire = fhir_sub.add_parser("questionnaire", help="print the intake Questionnaire (JSON)")
    fhir_questionnaire.add_argument("--lang", type=_lang, default="en", help=_LANG_HELP)
    fhir_questionnaire.add_argument(
        "--program", help="the Questionnaire of a program (its prescribed wording and required questions)"
    )
    codesystem = fhir_sub.add_parser("codesystem", help="print the CodeSystem of the yes/no/unknown answers (JSON)")
    terminology = fhir_sub.add_parser(
        "terminology", help="print every CodeSystem and ValueSet the Questionnaire uses, as a Bundle (JSON)"
    )
    response = fhir_sub.add_parser("response", help="print an intake as a QuestionnaireResponse (a Bundle of two for a duo)")
    response.add_argument("file", help="the intake file (JSON or YAML)")
    for command in (fhir_questionnaire, codesystem, terminology, response):
        command.add_argument("--base", metavar="URL", type=_base, help=base_help)

    serve = sub.add_parser("serve", help="run the CDS Hooks service (needs: pip install 'screening[service]')")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (the service is stateless; scale by workers)")
    serve.add_argument("--public-url", help="the base URL clients call, checked as the JWT aud (default http://HOST:PORT)")
    serve.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="ISSUER=JWKS_URL",
        help="a trusted CDS client: its JWT iss and the URL of its JWK Set (repeatable)",
    )
    serve.add_argument(
        "--fhir-server",
        action="append",
        default=[],
        metavar="ISSUER=URL",
        help="a FHIR server base URL this trusted client's requests may name as fhirServer (repeatable; "
        "with --insecure-no-auth, just URL); the service fetches from no other",
    )
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a browser origin allowed to call the service (CORS), e.g. https://sandbox.example.org (repeatable; none by default)",
    )
    serve.add_argument("--insecure-no-auth", action="store_true", help="accept calls without a JWT: ONLY for a local trial")
    serve.add_argument("--program", help="screen under a program of rules/programs/ (as for screen)")
    serve.add_argument(
        "--fhir-base",
        metavar="URL",
        type=_base,
        help="the canonical base your intake Questionnaires are published under (as for fhir questionnaire --base)",
    )
    serve.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="as for screen: auto (default) cross-checks both engines where durable_rules imports",
    )
    serve.add_argument("--rules", help="a rules folder to use instead of the shipped rulebook")
    serve.add_argument(
        "--fhir-timeout",
        type=float,
        default=5.0,
        help="seconds for the whole fetch from the client's FHIR server, however slowly it answers (default 5)",
    )
    serve.add_argument(
        "--body-timeout",
        type=float,
        default=10.0,
        help="seconds to receive a whole request body; a slower one is refused with 408 (default 10)",
    )
    serve.add_argument(
        "--lang",
        type=_lang,
        default="en",
        help=f"the cards' language when a request's Accept-Language names none of: {', '.join(LANGUAGES)} (default en)",
    )
    serve.add_argument("--ssl-certfile", help="serve HTTPS with this certificate (or terminate TLS at a proxy in front)")
    serve.add_argument("--ssl-keyfile", help="the certificate's private key")
    serve.add_argument(
        "--store",
        metavar="PATH|URL",
        help="keep CDS Hooks feedback as clinician decisions in this store (a SQLite file, or postgresql://...); needs screening[store]",
    )

    i18n = sub.add_parser("i18n", help="translation catalogues (needs: pip install 'screening[i18n]')")
    i18n_sub = i18n.add_subparsers(dest="i18n_command", required=True)
    i18n_sub.add_parser("extract", help="write the template of every English text (code, intake questions, rule texts)")
    i18n_sub.add_parser(
        "update", help="merge each language's catalogue with the template (changed texts: needs review) and compile it"
    )
    i18n_sub.add_parser(
        "check", help="fail on a stale template or .mo, an untranslated text a participant reads, or a verdict in a translation"
    )
    i18n_review = i18n_sub.add_parser(
        "review", help="record a clinician's check of a language's translation, or show where it stands"
    )
    i18n_review.add_argument("--lang", type=_lang, required=True, help="the language checked (not en: the source)")
    i18n_review.add_argument("--rules", help="the rules folder of the rulebook's repository, where the record is kept")
    i18n_review.add_argument(
        "--decision",
        choices=["approved", "changes-requested", "rejected"],
        help="record this decision (without it: show the state)",
    )
    i18n_review.add_argument("--reviewer", help="the reviewer's name")
    i18n_review.add_argument(
        "--role", help="psychiatrist, physician, clinical-pharmacist, psychologist, nurse, facilitator or other:ROLE"
    )
    i18n_review.add_argument("--registration", default="", help="the reviewer's registration number (e.g. BIG), optional")
    i18n_review.add_argument("--comment", default="", help="what to change, or a note on the approval")
    i18n_review.add_argument("--check", action="append", default=[], metavar="ITEM=yes|no|n/a", help="meaning, plain, wording")
    i18n_review.add_argument("--date", type=dt.date.fromisoformat, help="the review date (default: today)")
    schema = sub.add_parser("schema", help="print a JSON Schema")
    schema.add_argument("which", choices=["intake", "report", "rule", "vocabulary", "program"])

    from . import audit as audit_cli  # decide, audit, diff: the store itself is imported only when they run

    audit_cli.add_parsers(sub)
    from . import web as web_cli  # the web app itself is imported only when it runs

    web_cli.add_parsers(sub)
    return parser


def _engine_usable(engine: str) -> bool:
    """An engine that needs durable_rules where it cannot import is a usage error; auto's
    fallback to the reference evaluator alone is said once."""
    reason = durable.durable_unavailable_reason()
    if reason and engine in ("durable", "cross-check"):
        print(f"screening: --engine {engine} cannot be used: {reason}; use --engine python or auto", file=sys.stderr)
        return False
    if reason and engine == "auto":
        print(f"screening: note: {reason}; the reference evaluator screens alone (the report says so too)", file=sys.stderr)
    return True


def _rendered(report: Report, args: argparse.Namespace) -> str:
    if args.format == "json":
        return report.in_language(args.lang).to_json() + "\n"
    if args.format == "html":
        from ..report.html import render_html

        return render_html(report, paper=args.paper, include_private=args.include_private, lang=args.lang)
    if report.view.startswith("participant:") and args.include_private:
        from ..report.model import render_participant_text

        return render_participant_text(report, include_private=True, lang=args.lang)
    return render_text(report, lang=args.lang)


def _screen(args: argparse.Namespace) -> int:
    from ..pipeline.screener import screen

    if not _engine_usable(args.engine):
        return EXIT_USAGE

    if args.batch or not args.file:
        if not args.batch or args.file or args.view != "clinician":
            print("screening: give an intake file, or --batch FILE (clinician view, JSON lines)", file=sys.stderr)
            return EXIT_USAGE
        if args.format != "json" and args.format_given:
            print(f"screening: --batch writes JSON lines; --format {args.format} is not available with it", file=sys.stderr)
            return EXIT_USAGE
        from ..pipeline.batch import bounded_jobs, run_cli

        try:
            bounded_jobs(args.jobs)
        except ValueError as error:
            print(f"screening: --jobs: {error}", file=sys.stderr)
            return EXIT_USAGE
        return run_cli(args)
    if args.jobs is not None:
        print("screening: --jobs applies to --batch only", file=sys.stderr)
        return EXIT_USAGE
    if args.file != "-" and not Path(args.file).is_file():  # (a name the system refuses: OSError, below)
        what = "not a file" if Path(args.file).exists() else "no such file"
        print(f"screening: {what}: {args.file}", file=sys.stderr)
        return EXIT_USAGE
    from ..rulebook.loading import default
    from ..rulebook.programs import resolve

    book, chosen = resolve(load(args.rules) if args.rules else default(), args.program)
    from ..interop.fhir import read_intake_file  # also reads a FHIR QuestionnaireResponse or duo Bundle

    intake = read_intake_file(args.file, base=args.fhir_base, today=args.today, program=chosen.id)
    report = screen(intake, rulebook=book, engine=args.engine, today=args.today)
    if args.view != "clinician":
        try:
            report = report.view_for(args.view)
        except ValueError as error:
            print(f"screening: {error}", file=sys.stderr)
            return EXIT_USAGE
    since = ""
    if args.previous:
        if args.format != "text" or args.view != "clinician":
            print("screening: --previous applies to the clinician's text report", file=sys.stderr)
            return EXIT_USAGE
        from ..decisions.rescreen import diff_reports, render_diff_text
        from .audit import read_report

        try:
            since = render_diff_text(diff_reports(read_report(args.previous), report)) + "\n"
        except ScreeningError as error:
            print(f"screening: --previous: {error}", file=sys.stderr)
            return EXIT_USAGE
    if args.format == "cds-hooks":
        from ..interop.cds_hooks import render_cds_hooks

        sys.stdout.write(render_cds_hooks(report, book, lang=args.lang))
    else:
        sys.stdout.write(since + _rendered(report, args))
    if args.fail_on:
        threshold = SEVERITY_ORDER[args.fail_on]
        if any(SEVERITY_ORDER[f.severity] >= threshold for f in report.flags):
            return EXIT_FLAGGED
    return EXIT_OK


def _load_for(args: argparse.Namespace, targets: list[str]) -> Rulebook:
    """The rulebook; when files are named, only their problems are reported."""
    from pathlib import Path

    from ..authoring.tools import problems_for
    from ..rulebook.loading import default_rules_dir

    try:
        return load(args.rules)
    except RulebookError as error:
        raise problems_for(error, Path(args.rules) if args.rules else default_rules_dir(), targets) from None


def _rules_check(args: argparse.Namespace) -> int:
    from ..authoring import tools as authoring
    from ..engines.engine import limit_problems
    from ..rulebook import review

    book = _load_for(args, args.targets)
    rules = authoring.select(book, args.targets)
    from ..rulebook.programs import load_programs, program_problems

    problems = limit_problems(rules)
    if not args.targets:
        problems += program_problems(book) or authoring.program_limit_problems(book)
    checks, example_problems = authoring.check_examples(book, rules)
    if problems or example_problems:
        raise RulebookError(problems + example_problems)
    for rule, branch in authoring.unexercised(checks):
        print(f"warning: {rule.path}: {rule.id}: no example that flags makes this part of when: hold: {branch}", file=sys.stderr)
    related = authoring.overlaps(book, checks)
    if args.targets:
        for rule_id, ids in related.items():
            print(f"note: {rule_id}: its flag examples also raise {', '.join(ids)}; read them together", file=sys.stderr)
    states = Counter(review.state_of(book, r).state for r in rules)
    changed = [r.id for r in rules if review.state_of(book, r).state == "changed since approval"]
    if args.targets:
        print(
            f"{len(rules)} of {len(book.rules)} rules checked: valid, {sum(len(r.meta.examples) for r in rules)} examples as expected"
        )
        for rule in rules:
            print(f"{rule.id}: {review.state_of(book, rule).state}")
        return EXIT_OK
    by_category = Counter(r.meta.category for r in rules)
    by_severity: Counter[str] = Counter(r.meta.severity for r in rules)
    print(f"rulebook {book.version}: {len(book.rules)} rules, {len(book.vocabulary.entries)} vocabulary entries, all valid")
    print(f"sha256 {book.sha256}")
    print("rules per category: " + ", ".join(f"{c} {n}" for c, n in sorted(by_category.items())))
    print("rules per severity: " + ", ".join(f"{s} {by_severity.get(s, 0)}" for s in SEVERITY_ORDER))
    programs = load_programs(book)
    print(f"programs ({len(programs)}, all valid): " + ", ".join(f"{p.id} {p.meta.version}" for p in programs.values()))
    print("status: " + ", ".join(f"{status} {states.get(status, 0)}" for status in review.STATUSES))
    if changed:
        print("changed since approval (their approval no longer counts): " + ", ".join(changed))
    print(f"examples: {len(checks)}, each as expected; rules whose examples also raise another rule: {len(related)}")
    _translation_lines(book)
    refs = [ref for r in rules for ref in r.meta.references]
    home = sum(1 for ref in refs if ref.url.split("://", 1)[-1].strip("/").count("/") == 0)
    print(
        f"references: {len(refs)}; with a locator {sum(1 for x in refs if x.locator)}, marked primary/secondary "
        f"{sum(1 for x in refs if x.kind)}, with an access date {sum(1 for x in refs if x.accessed)}; links to a bare home page {home}"
    )
    return EXIT_OK


def _translation_lines(book: Rulebook) -> None:
    """Per language: translated, missing, needing review (the counts need Babel, the i18n extra)."""
    try:
        from ..authoring import translations
    except ImportError:  # pragma: no cover - Babel is imported lazily; this is for completeness
        return
    try:
        for lang in LANGUAGES[1:]:
            print("translations " + translations.coverage(book, lang).line())
    except ScreeningError:
        print("translations: counted with the i18n extra (pip install 'screening[i18n]')")


def _i18n(args: argparse.Namespace) -> int:
    from ..authoring import translations
    from ..rulebook.loading import default

    if args.i18n_command == "review":
        return _i18n_review(args)
    book = default()
    if args.i18n_command == "extract":
        print(f"wrote {translations.extract(book)}")
        return EXIT_OK
    if args.i18n_command == "update":
        for path in translations.update(book):
            print(f"wrote {path}")
        return EXIT_OK
    problems, lines = translations.check(book)
    for line in lines:
        print(line)
    for problem in problems:
        print(f"screening: i18n: {problem}", file=sys.stderr)
    return EXIT_USAGE if problems else EXIT_OK


def _i18n_review(args: argparse.Namespace) -> int:
    """A translation check, recorded like a rule review: in the rules' repository, never a package."""
    from ..rulebook import review
    from ..rulebook.loading import default_rules_dir

    if args.lang == "en":
        print("screening: --lang: English is the source language; check a translation (nl)", file=sys.stderr)
        return EXIT_USAGE
    if args.decision is None:
        print(review.translation_state(Path(args.rules) if args.rules else default_rules_dir(), args.lang).line())
        return EXIT_OK
    folder = _review_folder(args.rules)
    if folder is None:
        return EXIT_USAGE
    checklist = _reviewer_and_checklist(args, "a translation check")
    if checklist is None:
        return EXIT_USAGE
    try:
        record = review.new_translation_record(
            args.lang,
            reviewer=args.reviewer,
            role=args.role,
            decision=args.decision,
            comments=args.comment,
            checklist=checklist,
            date=args.date or dt.date.today(),
            registration=args.registration,
            recorded_by=_recorded_by(),
        )
    except ValueError as error:
        print(f"screening: {error}", file=sys.stderr)
        return EXIT_USAGE
    path = review.append_translation(folder, record)
    print(
        f"recorded: {record.lang} translation {record.decision} by {record.reviewer} on {record.date} "
        f"(catalogue sha256 {record.catalogue_sha256[:16]}, {record.texts} texts) in {path}"
    )
    return EXIT_OK


def _rules_test(args: argparse.Namespace) -> int:
    from ..authoring.examples import ExampleResult, run_examples
    from ..authoring.tools import explain_examples, select

    if not _engine_usable(args.engine):
        return EXIT_USAGE
    book = _load_for(args, args.rule_ids)
    chosen = select(book, args.rule_ids)  # an unknown id is a RulebookError (exit 2) with a did-you-mean
    results = run_examples(book, args.engine, {r.id for r in chosen})
    failed = [r for r in results if not r.passed]
    by_rule: dict[str, list[ExampleResult]] = {}
    for result in results:
        by_rule.setdefault(result.rule_id, []).append(result)
    for rule_id, rule_results in by_rule.items():
        bad = sum(not r.passed for r in rule_results)
        print(f"{rule_id}: {len(rule_results) - bad} passed, {bad} failed")
        for result in rule_results:
            mark = "ok  " if result.passed else "FAIL"
            print(f"  {mark} {result.example} (expect {result.expect}) -> {result.detail}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        from ..authoring.tools import example_lines

        traces = explain_examples(book, [book.rule(r) for r in dict.fromkeys(f.rule_id for f in failed)]) if args.explain else {}
        print("\nFailed:")
        for result in failed:
            rule = book.rule(result.rule_id)
            names = [e.name for e in rule.meta.examples]
            line = example_lines(book, rule)[names.index(result.example)]
            print(f"  {rule.path}:{line or '?'}: {result.rule_id}: {result.example!r} expects {result.expect} -> {result.detail}")
            for text in traces.get((result.rule_id, result.example), []):
                print(f"      {text}")
        if not args.explain:
            print("  (add --explain to see each part of when: against these examples)")
    return EXIT_FLAGGED if failed else EXIT_OK


def _reviewer_and_checklist(args: argparse.Namespace, what: str) -> dict[str, str] | None:
    """The --check answers of a review or translation check, or None (said on stderr) when the
    reviewer or role is missing or an answer is not ITEM=ANSWER."""
    missing = [name for name in ("reviewer", "role") if not (getattr(args, name) or "").strip()]
    if missing:
        print(f"screening: {what} names --{' and --'.join(missing)}", file=sys.stderr)
        return None
    checklist = {}
    for item in args.check:
        key, sep, answer = item.partition("=")
        if not sep:
            print(f"screening: --check takes ITEM=yes|no|n/a, not {item!r}", file=sys.stderr)
            return None
        checklist[key.strip()] = answer.strip()
    return checklist


def _review_folder(given: str | None) -> Path | None:
    """Where a review is recorded: the rules folder of the rulebook's own repository (``--rules``,
    or ./rules in a checkout), never an installed package, where it would be lost on upgrade."""
    folder = Path(given) if given else Path("rules")
    where = "pass --rules PATH: the rules/ folder of the rulebook's repository (a git checkout), where reviews are kept under version control"
    if not (folder / "baseline.yaml").is_file():
        print(f"screening: --rules: {folder} is not a rules folder; {where}", file=sys.stderr)
        return None
    resolved = folder.resolve()
    if any(part in ("site-packages", "dist-packages") for part in resolved.parts):
        print(f"screening: --rules: {folder} is an installed package, not a repository; {where}", file=sys.stderr)
        return None
    return resolved


def _recorded_by() -> str:
    """Who types the record in: ``git config user.name``, else $USER."""
    import subprocess

    try:
        name = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        name = ""
    return name or os.environ.get("USER", "") or os.environ.get("USERNAME", "")


def _rules_review(args: argparse.Namespace) -> int:
    from ..authoring.rule_diff import compare
    from ..authoring.tools import select
    from ..report import display
    from ..rulebook import review

    if args.decision is not None:
        folder = _review_folder(args.rules)
        if folder is None:
            return EXIT_USAGE
        args.rules = str(folder)
    book = load(args.rules)
    rule = select(book, [args.rule])[0]
    if args.decision is None:
        state = review.state_of(book, rule)
        print(f"{rule.id}: {state.state} (content sha256 {state.current_sha256[:16]})")
        for record in (r for r in book.reviews if r.rule_id == rule.id):
            same = "this content" if record.rule_sha256 == state.current_sha256 else "earlier content"
            line = f"  {record.date} {record.decision} by {record.reviewer} ({record.role}), {same}"
            print(display.text(line + (f": {record.comments}" if record.comments else "")).replace("\n", "\\n"))
        if state.state == "changed since approval" and state.approval is not None:
            print(f"changed since the approval of {state.approval.date}:")
            for part, lines in compare(state.approval.content, review.content(rule, book)).items():
                print(f"  {part}:")
                print("\n".join(f"    {line}" for line in lines))
        return EXIT_OK
    checklist = _reviewer_and_checklist(args, "a review")
    if checklist is None:
        return EXIT_USAGE
    try:
        record = review.new_record(
            rule,
            book=book,
            reviewer=args.reviewer,
            role=args.role,
            decision=args.decision,
            comments=args.comment,
            checklist=checklist,
            date=args.date or dt.date.today(),
            registration=args.registration,
            recorded_by=_recorded_by(),
        )
    except ValueError as error:
        print(f"screening: {error}", file=sys.stderr)
        return EXIT_USAGE
    path = review.append(book.root, record)
    print(
        f"recorded: {rule.id} {record.decision} by {record.reviewer} (recorded by {record.recorded_by or 'unknown'}) on {record.date} (content sha256 {record.rule_sha256[:16]}) in {path}"
    )
    print("rebuild the reviewers' pages: screening docs build")
    return EXIT_OK


def _rules_new(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..authoring.tools import scaffold
    from ..rulebook.loading import default_rules_dir

    path = scaffold(Path(args.rules) if args.rules else default_rules_dir(), args.category, args.rule_id)
    print(f"wrote {path}; fill in every TODO, then: screening rules check {path}")
    return EXIT_OK


def _docs_diff(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..authoring.rule_diff import diff_since, render
    from ..rulebook.loading import default_rules_dir

    root = Path(args.rules) if args.rules else default_rules_dir()
    commit, changes = diff_since(root, args.since)
    sys.stdout.write(render(args.since, commit, changes))
    return EXIT_OK


def _docs_build(args: argparse.Namespace) -> int:
    from ..authoring.docs import build

    pages = build(load(args.rules), args.out)
    print(f"wrote {len(pages)} pages to {args.out}")
    return EXIT_OK


def _fhir(args: argparse.Namespace) -> int:
    from ..interop import fhir

    if args.fhir_command == "questionnaire":
        resource = fhir.questionnaire(args.program, base=args.base, lang=args.lang)
    elif args.fhir_command == "codesystem":
        resource = fhir.answer_code_system(args.base)
    elif args.fhir_command == "terminology":
        resource = fhir.terminology(args.base)
    else:
        from ..pipeline.screener import read_intake

        resource = fhir.response_from_intake(read_intake(args.file), base=args.base)
    print(json.dumps(resource, indent=2, ensure_ascii=False))
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from ..service import ServiceConfig, serve  # the optional extra: a friendly line when missing

    issuers = {}
    for item in args.trust:
        iss, sep, url = item.partition("=")  # an issuer has no "="; a JWK Set URL may (a query)
        if not sep or not iss or not url.startswith(("http://", "https://")):
            print(f"screening: --trust takes ISSUER=JWKS_URL, got {item!r}", file=sys.stderr)
            return EXIT_USAGE
        issuers[iss] = url
    servers: dict[str, list[str]] = {}
    for item in args.fhir_server:
        iss, sep, url = item.partition("=")  # an issuer has no "=" (as for --trust)
        if not sep:
            iss, url = "", item
        if not url.startswith(("http://", "https://")):
            print(f"screening: --fhir-server takes ISSUER=URL (or URL with --insecure-no-auth), got {item!r}", file=sys.stderr)
            return EXIT_USAGE
        servers.setdefault(iss, []).append(url.rstrip("/"))
    config = ServiceConfig(
        fhir_servers=servers,
        allow_origins=tuple(args.allow_origin),
        public_url=args.public_url or f"http://{args.host}:{args.port}",
        trusted_issuers=issuers,
        insecure_no_auth=args.insecure_no_auth,
        engine=args.engine,
        program=args.program,
        fhir_base=args.fhir_base,
        rules=args.rules,
        fhir_timeout=args.fhir_timeout,
        body_deadline=args.body_timeout,
        store=args.store,
        lang=args.lang,
    )
    from ..service.app import check_listening

    try:
        config.check()
        check_listening(config, args.host)
    except ValueError as error:
        print(f"screening: {error}", file=sys.stderr)
        return EXIT_USAGE
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        print("screening: give both --ssl-certfile and --ssl-keyfile, or neither", file=sys.stderr)
        return EXIT_USAGE
    from ..service.app import service_rulebook

    service_rulebook(config)  # an unknown program or a broken rulebook: exit 2 before serving
    if args.insecure_no_auth:
        print(
            "screening: WARNING: --insecure-no-auth: anyone who can reach this port can screen; for local trials only",
            file=sys.stderr,
        )
    serve(
        config, host=args.host, port=args.port, workers=args.workers, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    warnings.simplefilter("ignore", FallbackEngineWarning)  # the CLI says it once in its own words
    if args.command in ("decide", "audit", "diff"):
        from . import audit as audit_cli

        return audit_cli.run(args)
    if getattr(args, "command", None) == "screen":
        args.format_given = args.format is not None
        args.format = args.format or ("json" if args.batch else "text")
    try:
        if args.command == "screen":
            return _screen(args)
        if args.command == "rules":
            return {"check": _rules_check, "test": _rules_test, "review": _rules_review, "new": _rules_new}[args.rules_command](
                args
            )
        if args.command == "docs":
            return _docs_build(args) if args.docs_command == "build" else _docs_diff(args)
        if args.command == "meds":
            from ..authoring.tools import describe_match

            print("\n".join(describe_match(load(args.rules), args.name)))
            return EXIT_OK
        if args.command == "fhir":
            return _fhir(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "web":
            from . import web as web_cli

            return web_cli.run(args)
        if args.command == "i18n":
            return _i18n(args)
        if args.which in ("rule", "vocabulary", "program"):
            from ..authoring.rule_schemas import program_schema, rule_schema, vocabulary_schema

            schema = {"rule": rule_schema, "vocabulary": vocabulary_schema, "program": program_schema}[args.which]()
        else:
            from ..interop.schemas import intake_schema

            schema = intake_schema() if args.which == "intake" else report_schema()
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
    except ScreeningError as error:  # e.g. an optional extra is missing: pip install 'screening[service]'
        print(f"screening: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except OSError as error:  # a file or folder name the system refuses (too long, ...): a usage error
        name = str(error.filename or "")
        shown = name if len(name) <= 80 else name[:80] + "..."
        print(f"screening: {error.strerror or type(error).__name__}" + (f": {shown}" if shown else ""), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("screening: interrupted", file=sys.stderr)
        return 130
