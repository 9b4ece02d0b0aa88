"""The ASGI app: the facilitator's pages (behind a login) and the participant's (behind a private link)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import delete, insert, select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..decisions.model import DecisionError, make_decision
from ..decisions.rescreen import diff_reports, render_diff_text
from ..errors import ScreeningError
from ..i18n import LANGUAGES, N_, checked_language, translator
from ..interop.cds_hooks import reason_slug
from ..pipeline.screener import parse_intake, screen
from ..report.html import render_html
from ..report.model import Report, intake_sha256
from ..rulebook import loading, programs
from . import db as tables
from .audit import entry, shown
from .crypto import Sealer, load_key
from .form import MEDICATION_FIELDS, read_answers, sections

__all__ = ["WebConfig", "create_app"]

LINK_DAYS = 14
SESSION_HOURS = 12
MAX_FAILURES = 5  # failed logins per name and per address in FAILURE_WINDOW seconds
FAILURE_WINDOW = 15 * 60
MAX_BODY = 256 * 1024
SUBSTANCES = ("psilocybin", "mdma", "ketamine", "lsd", "ayahuasca", "dmt")
CSP = "default-src 'none'; style-src 'self'{extra}; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


@dataclass
class WebConfig:
    store: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    key_file: str | None = None
    link_days: int = LINK_DAYS
    body_deadline: float = 10.0  # seconds for a request body to arrive whole (screening.asgi.BodyDeadline)
    language: str = "en"  # the facilitators' pages and the clinician's report; each participant has their own

    def __post_init__(self) -> None:
        self.language = checked_language(self.language)

    @property
    def secure(self) -> bool:
        return self.public_url.startswith("https://")


@dataclass
class _Limiter:
    """Failed logins per key in a sliding window (in memory: one process)."""

    failures: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def blocked(self, *keys: str) -> bool:
        cutoff = time.monotonic() - FAILURE_WINDOW
        with self.lock:
            for key in keys:
                self.failures[key] = [t for t in self.failures.get(key, []) if t > cutoff]
            return any(len(self.failures[key]) >= MAX_FAILURES for key in keys)

    def fail(self, *keys: str) -> None:
        with self.lock:
            for key in keys:
                self.failures.setdefault(key, []).append(time.monotonic())


class _Denied(Exception):
    """A refusal; ``text`` is English, marked for extraction, translated when shown in ``language``."""

    def __init__(self, status: int, text: str, language: str | None = None):
        self.status, self.text, self.language = status, text, language


def _key_path(config: WebConfig) -> Path:
    if config.key_file:
        return Path(config.key_file)
    store = config.store or ""
    if store and "://" not in store:
        return Path(store).with_suffix(".key")
    return Path.home() / ".config" / "screening" / "web.key"


def create_app(config: WebConfig) -> Starlette:
    """The app over one store; the key is read (or created, mode 0600) at start."""
    db = tables.WebDb(config.store)
    sealer = Sealer(load_key(_key_path(config)))
    csrf_secret = hashlib.sha256(b"csrf" + load_key(_key_path(config))).digest()
    limiter = _Limiter()
    env = Environment(loader=PackageLoader("screening.web", "templates"), autoescape=select_autoescape(default=True))
    book = loading.default()
    cookie = "__Host-screening" if config.secure else "screening"

    def page(name: str, status: int = 200, language: str | None = None, **context: Any) -> HTMLResponse:
        language = language or config.language
        text = env.get_template(name).render(_=translator(language), lang=language, **context)
        return HTMLResponse(text, status_code=status)

    async def form_of(request: Request) -> dict[str, list[str]]:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise _Denied(413, N_("Too much was sent."))
        return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=2000)

    # ------------------------------------------------------------------ facilitator sessions

    def current(request: Request) -> dict[str, Any] | None:
        sid = request.cookies.get(cookie)
        if not sid:
            return None
        row = db.one(select(tables.sessions).where(tables.sessions.c.id_hash == tables.hash_token(sid)))
        if row is None or row["expires"] < tables.now().isoformat():
            return None
        return dict(row)

    def facilitator(request: Request) -> dict[str, Any]:
        user = current(request)
        if user is None:
            raise _Denied(303, "/login")
        return user

    async def checked_form(request: Request, user: dict[str, Any]) -> dict[str, list[str]]:
        form = await form_of(request)
        sent = (form.get("csrf") or [""])[-1]
        if not hmac.compare_digest(sent, user["csrf"]):
            raise _Denied(403, N_("The form had expired or did not come from this site. Go back, reload and try again."))
        return form

    def owned(user: dict[str, Any], sid: str) -> dict[str, Any]:
        row = db.one(select(tables.screenings).where(tables.screenings.c.id == sid))
        if row is None or row["owner"] != user["user"]:
            raise _Denied(404, N_("No such screening."))
        return dict(row)

    def members(sid: str) -> list[dict[str, Any]]:
        query = select(tables.participants).where(tables.participants.c.screening_id == sid)
        return [dict(r) for r in db.all(query.order_by(tables.participants.c.label))]

    async def login(request: Request) -> Response:
        if request.method != "POST":
            return page("login.html")
        form = await form_of(request)
        name = (form.get("name") or [""])[-1].strip()
        password = (form.get("password") or [""])[-1]
        where = request.client.host if request.client else "?"
        if limiter.blocked("name:" + name, "ip:" + where):
            return page("login.html", 429, error=N_("Too many attempts. Wait a quarter of an hour and try again."))
        if not db.check_password(name, password):
            limiter.fail("name:" + name, "ip:" + where)
            return page("login.html", 401, error=N_("That name and password do not match."))
        old = request.cookies.get(cookie)
        session_id = secrets.token_urlsafe(32)  # a new id at every login
        statements: list[Any] = [
            insert(tables.sessions).values(
                id_hash=tables.hash_token(session_id),
                user=name,
                csrf=secrets.token_urlsafe(32),
                expires=(tables.now() + dt.timedelta(hours=SESSION_HOURS)).isoformat(),
            )
        ]
        if old:
            statements.insert(0, delete(tables.sessions).where(tables.sessions.c.id_hash == tables.hash_token(old)))
        db.run(*statements)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            cookie, session_id, httponly=True, samesite="strict", secure=config.secure, path="/", max_age=SESSION_HOURS * 3600
        )
        return response

    async def logout(request: Request) -> Response:
        user = facilitator(request)
        await checked_form(request, user)
        db.run(delete(tables.sessions).where(tables.sessions.c.id_hash == user["id_hash"]))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(cookie, path="/")
        return response

    async def home(request: Request) -> Response:
        user = facilitator(request)
        rows = db.all(select(tables.screenings).where(tables.screenings.c.owner == user["user"]))
        return page("home.html", user=user, screenings=rows)

    # ------------------------------------------------------------------ creating a screening

    def issue_link(participant_id: str) -> str:
        token = tables.new_token()
        expires = (tables.now() + dt.timedelta(days=config.link_days)).isoformat()
        db.run(
            tables.update_row(
                tables.participants, participant_id, token_hash=tables.hash_token(token), expires=expires, revoked=0
            )
        )
        return f"{config.public_url.rstrip('/')}/p/{token}"

    async def new(request: Request) -> Response:
        user = facilitator(request)
        program_ids = ["default", *sorted(set(programs.load_programs(book)) - {"default"})]
        _ = translator(config.language)
        session_section = sections("default", duo=False, lang=config.language)[0]
        context: dict[str, Any] = {"user": user, "section": session_section, "programs": program_ids, "languages": LANGUAGES}
        if request.method != "POST":
            return page("new.html", **context, values={})
        form = await checked_form(request, user)
        fmt = (form.get("session.format") or [""])[-1]
        program = (form.get("program") or ["default"])[-1]
        problems: dict[str, str] = {}
        session_values = {}
        for question in session_section.questions:
            raw = (form.get(question.link_id) or [""])[-1].strip()
            if raw:
                session_values[question.name] = raw
        try:
            plan = _session_plan(session_section, form, config.language)
        except ValueError as error:
            problems["session"] = str(error)
            plan = {}
        if fmt not in ("individual", "duo"):
            problems["session.format"] = _("Choose individual or duo.")
        if program not in program_ids:
            problems["program"] = _("Choose a program from the list.")
        languages = [(form.get(f"language.{i}") or ["en"])[-1] for i in range(2 if fmt == "duo" else 1)]
        if any(lang not in LANGUAGES for lang in languages):
            problems["language"] = _("Choose a language for each participant.")
        if problems:
            return page("new.html", 400, **context, values=session_values, problems=problems)
        sid = secrets.token_hex(16)
        title = f"{plan.get('substance', '?')}, {fmt}, {plan.get('planned_date') or 'no date yet'}"
        db.run(
            insert(tables.screenings).values(
                id=sid,
                owner=user["user"],
                title=title,
                session=sealer.seal(json.dumps(plan)),
                program=program,
                created=tables.now().isoformat(),
            )
        )
        links = []
        for label, language in zip("AB", languages, strict=False):
            pid = secrets.token_hex(16)
            db.run(
                insert(tables.participants).values(
                    id=pid, screening_id=sid, label=label, language=language, token_hash=pid, expires="", revoked=1
                )
            )
            links.append((label, issue_link(pid)))
        db.log(sid, user["user"], entry("created", title=title, program=program, labels=", ".join(label for label, _ in links)))
        return page("links.html", user=user, screening={"id": sid, "title": title}, links=links)

    # ------------------------------------------------------------------ a screening's pages

    async def status(request: Request) -> Response:
        user = facilitator(request)
        row = owned(user, request.path_params["sid"])
        people = members(row["id"])
        changes = None
        if row["report"] and row["previous_report"]:
            old = Report.model_validate_json(sealer.open(row["previous_report"]))
            changes = render_diff_text(diff_reports(old, report_of(row), db.store.decisions_for(old.report_id)))
        ready = all(p["submitted"] for p in people)
        return page("status.html", user=user, screening=row, people=people, ready=ready, changes=changes)

    async def new_link(request: Request) -> Response:
        user = facilitator(request)
        row = owned(user, request.path_params["sid"])
        await checked_form(request, user)
        person = _member(members(row["id"]), request.path_params["pid"])
        link = issue_link(person["id"])
        db.log(row["id"], user["user"], entry("new-link", label=person["label"]))
        return page("links.html", user=user, screening=row, links=[(person["label"], link)])

    async def revoke(request: Request) -> Response:
        user = facilitator(request)
        row = owned(user, request.path_params["sid"])
        await checked_form(request, user)
        person = _member(members(row["id"]), request.path_params["pid"])
        db.run(tables.update_row(tables.participants, person["id"], revoked=1))
        db.log(row["id"], user["user"], entry("revoked", label=person["label"]))
        return RedirectResponse(f"/s/{row['id']}", status_code=303)

    async def release(request: Request) -> Response:
        user = facilitator(request)
        row = owned(user, request.path_params["sid"])
        await checked_form(request, user)
        person = _member(members(row["id"]), request.path_params["pid"])
        if not row["report"]:
            raise _Denied(409, N_("There is no report yet."))
        db.run(tables.update_row(tables.participants, person["id"], released=1))
        db.log(row["id"], user["user"], entry("released", label=person["label"]))
        return RedirectResponse(f"/s/{row['id']}", status_code=303)

    def report_of(row: dict[str, Any]) -> Report:
        if not row["report"]:
            raise _Denied(409, N_("The report is made when every participant has submitted."))
        return Report.model_validate_json(sealer.open(row["report"]))

    async def report_page(request: Request) -> Response:
        user = facilitator(request)
        row = owned(user, request.path_params["sid"])
        return _styled(render_html(report_of(row), lang=config.language))

    async def decide(request: Request) -> Response:
        user = facilitator(request)
        row = owned(user, request.path_params["sid"])
        report = report_of(row)
        if not all(p["submitted"] for p in members(row["id"])):
            raise _Denied(409, N_("A participant is correcting their answers; decisions wait for the new report."))
        digest = db.store.report(report.report_id)
        assert digest is not None  # stored when the report was made
        problems: list[str] = []
        if request.method == "POST":
            form = await checked_form(request, user)
            decisions = []
            for index, flag in enumerate(digest.flags):
                outcome = (form.get(f"outcome.{index}") or [""])[-1]
                if not outcome:
                    continue
                reason = (form.get(f"reason.{index}") or [""])[-1] or None
                try:
                    decisions.append(
                        make_decision(
                            report_id=report.report_id,
                            rule_id=flag.rule_id,
                            participant=flag.participant,
                            outcome=outcome,
                            reason=reason if outcome == "overridden" else None,
                            reason_text=(form.get(f"reason_text.{index}") or [""])[-1].strip() or None,
                            note=(form.get(f"note.{index}") or [""])[-1].strip() or None,
                            reviewer=user["user"],
                        )
                    )
                except DecisionError as error:
                    problems.extend(f"{flag.rule_id} ({flag.participant}): {p.message}" for p in error.problems)
            if not problems and decisions:
                try:
                    db.store.record_decisions(decisions)
                except ScreeningError as error:
                    problems.append(str(error))
                else:
                    db.log(row["id"], user["user"], entry("decided", count=len(decisions), report=report.report_id[:12]))
        recorded = {(d.rule_id, d.participant): d for d in db.store.decisions_for(report.report_id)}
        flags = [
            (i, f, [(reason_slug(r), r) for r in f.override_reasons], recorded.get(f.key)) for i, f in enumerate(digest.flags)
        ]
        return page("decide.html", 400 if problems else 200, user=user, screening=row, flags=flags, problems=problems)

    async def audit_page(request: Request) -> Response:
        user = facilitator(request)
        row = owned(user, request.path_params["sid"])
        entries = db.all(select(tables.audit).where(tables.audit.c.screening_id == row["id"]).order_by(tables.audit.c.seq))
        decisions = db.store.decisions_for(row["report_id"]) if row["report_id"] else []
        return page("audit.html", user=user, screening=row, entries=entries, decisions=decisions, shown=shown)

    async def erase(request: Request) -> Response:
        user = facilitator(request)
        row = owned(user, request.path_params["sid"])
        await checked_form(request, user)
        digests = []
        for person in members(row["id"]):
            if person["answers"]:
                digests.append(f"{person['label']} {hashlib.sha256(person['answers'].encode()).hexdigest()[:16]}")
        db.run(
            delete(tables.participants).where(tables.participants.c.screening_id == row["id"]),
            update(tables.screenings)
            .where(tables.screenings.c.id == row["id"])
            .values(session=sealer.seal("{}"), report=None, previous_report=None, title="(deleted)"),
        )
        db.log(row["id"], user["user"], entry("deleted", digests="; ".join(digests) or "-"))
        return RedirectResponse("/", status_code=303)

    # ------------------------------------------------------------------ the participant

    def participant(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        token = request.path_params["token"]
        row = None
        if re.fullmatch(r"[A-Za-z0-9_-]{20,100}", token):
            row = db.one(select(tables.participants).where(tables.participants.c.token_hash == tables.hash_token(token)))
        if row is None or row["revoked"] or row["expires"] < tables.now().isoformat():
            raise _Denied(404, N_("This link does not work (any more). Ask your facilitator for a new one."))
        screening_row = db.one(select(tables.screenings).where(tables.screenings.c.id == row["screening_id"]))
        return dict(row), dict(screening_row)

    def participant_csrf(person: dict[str, Any]) -> str:
        return hmac.new(csrf_secret, person["token_hash"].encode(), hashlib.sha256).hexdigest()

    async def participant_form(request: Request) -> dict[str, list[str]]:
        person, _ = participant(request)
        form = await form_of(request)
        if not hmac.compare_digest((form.get("csrf") or [""])[-1], participant_csrf(person)):
            raise _Denied(403, N_("The form had expired. Go back, reload and try again."), person["language"])
        return form

    def form_page(person: dict[str, Any], screening_row: dict[str, Any], status_code: int = 200, **extra: Any) -> Response:
        plan = json.loads(sealer.open(screening_row["session"]))
        groups = sections(screening_row["program"], duo=plan.get("format") == "duo", lang=person["language"])
        answers = json.loads(sealer.open(person["answers"])) if person["answers"] else {}
        values = {f"{group}.{k}": v for group, part in answers.items() if isinstance(part, dict) for k, v in part.items()}
        medications = list(answers.get("medications", [])) + [{}]
        return page(
            "intake.html",
            status_code,
            language=person["language"],
            sections=[s for s in groups if s.link_id not in ("session", "medications")],
            medication=next(s for s in groups if s.link_id == "medications"),
            medication_fields=MEDICATION_FIELDS,
            values=values,
            medications=medications,
            person=person,
            csrf=participant_csrf(person),
            token_path=f"/p/{extra.pop('token')}",
            **extra,
        )

    async def participant_home(request: Request) -> Response:
        person, screening_row = participant(request)
        token = request.path_params["token"]
        if request.method == "POST":
            await participant_form(request)
            db.run(tables.update_row(tables.participants, person["id"], consented=1))
            return RedirectResponse(f"/p/{token}", status_code=303)
        if person["submitted"]:
            return page(
                "submitted.html",
                language=person["language"],
                person=person,
                token_path=f"/p/{token}",
                csrf=participant_csrf(person),
                can_correct=correctable(person, screening_row),
            )
        if not person["consented"]:
            return page("consent.html", language=person["language"], csrf=participant_csrf(person), token_path=f"/p/{token}")
        return form_page(person, screening_row, token=token)

    def correctable(person: dict[str, Any], screening_row: dict[str, Any]) -> bool:
        """A submitted participant may correct their answers until their copy is released or a
        decision is recorded on a finding about them (their own or the pair's)."""
        if not person["submitted"] or person["released"]:
            return False
        if not screening_row["report_id"]:
            return True
        decided = db.store.decisions_for(screening_row["report_id"])
        return not any(d.participant in (person["label"], "pair") for d in decided)

    async def reopen(request: Request) -> Response:
        person, screening_row = participant(request)
        await participant_form(request)
        if not correctable(person, screening_row):
            raise _Denied(409, N_("Your answers can no longer be corrected here; ask your facilitator."), person["language"])
        db.run(tables.update_row(tables.participants, person["id"], submitted=None))
        db.log(screening_row["id"], entry("participant", label=person["label"]), entry("reopened"))
        return RedirectResponse(f"/p/{request.path_params['token']}", status_code=303)

    async def participant_save(request: Request) -> Response:
        person, screening_row = participant(request)
        token = request.path_params["token"]
        form = await participant_form(request)
        if person["submitted"]:
            raise _Denied(
                409,
                N_("Your answers have been submitted; ask your facilitator if something needs correcting."),
                person["language"],
            )
        plan = json.loads(sealer.open(screening_row["session"]))
        groups = sections(screening_row["program"], duo=plan.get("format") == "duo", lang=person["language"])
        answers, problems = read_answers(form, [s for s in groups if s.link_id != "session"], person["language"])
        db.run(tables.update_row(tables.participants, person["id"], answers=sealer.seal(json.dumps(answers))))
        person = dict(db.one(select(tables.participants).where(tables.participants.c.id == person["id"])))
        action = (form.get("action") or ["save"])[-1]
        if action == "add":
            return RedirectResponse(f"/p/{token}#medications", status_code=303)
        if action == "submit" and not problems:
            try:
                parse_intake(
                    {"session": plan, "participants": [{"participant_id": person["label"], **answers}]}
                    if plan.get("format") != "duo"
                    else _pair_check(plan, person["label"], answers)
                )
            except ScreeningError as error:
                problems = {"intake": _without_values(str(error))}
            else:
                db.run(tables.update_row(tables.participants, person["id"], submitted=tables.now().isoformat()))
                db.log(screening_row["id"], entry("participant", label=person["label"]), entry("submitted"))
                try_screening(screening_row["id"])
                return RedirectResponse(f"/p/{token}", status_code=303)
        return form_page(person, screening_row, 400 if problems else 200, token=token, problems=problems, saved=not problems)

    def try_screening(sid: str) -> None:
        row = dict(db.one(select(tables.screenings).where(tables.screenings.c.id == sid)))
        people = members(sid)
        if not all(p["submitted"] for p in people):
            return
        plan = json.loads(sealer.open(row["session"]))
        intake = {
            "session": plan,
            "participants": [{"participant_id": p["label"], **json.loads(sealer.open(p["answers"]))} for p in people],
        }
        if row["report"]:  # a correction: the report it replaces is kept to show what changed
            db.run(tables.update_row(tables.screenings, sid, previous_report=row["report"], report=None, report_id=None))
        try:
            report = screen(intake, program=row["program"])
        except ScreeningError:
            db.log(sid, entry("screening"), entry("failed"))
            return
        db.store.add_report(report, rulebook=book)
        db.run(tables.update_row(tables.screenings, sid, report=sealer.seal(report.to_json()), report_id=report.report_id))
        parts = {"report": report.report_id[:12], "intake": intake_sha256(parse_intake(intake))[:16], "flags": len(report.flags)}
        if row["report"]:
            db.log(sid, entry("screening"), entry("rescreened", previous=row["report_id"][:12], **parts))
        else:
            db.log(sid, entry("screening"), entry("screened", **parts))

    async def own_copy(request: Request) -> Response:
        person, screening_row = participant(request)
        if not person["released"] or not screening_row["report"]:
            raise _Denied(404, N_("Your copy has not been released yet."), person["language"])
        report = Report.model_validate_json(sealer.open(screening_row["report"]))
        return _styled(render_html(report.view_for(person["label"]), lang=person["language"]))

    async def download(request: Request) -> Response:
        person, _ = participant(request)
        answers = json.loads(sealer.open(person["answers"])) if person["answers"] else {}
        return JSONResponse(
            {"participant_id": person["label"], **answers},
            headers={"Content-Disposition": 'attachment; filename="my-answers.json"'},
        )

    # ------------------------------------------------------------------ wiring

    def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except _Denied as denied:
                if denied.status == 303:
                    response = RedirectResponse(denied.text, status_code=303)
                else:
                    response = page("message.html", denied.status, language=denied.language, message=denied.text)
            return _secured(response)

        return run

    routes = [
        Route("/login", guarded(login), methods=["GET", "POST"]),
        Route("/logout", guarded(logout), methods=["POST"]),
        Route("/", guarded(home)),
        Route("/new", guarded(new), methods=["GET", "POST"]),
        Route("/s/{sid}", guarded(status)),
        Route("/s/{sid}/report", guarded(report_page)),
        Route("/s/{sid}/decide", guarded(decide), methods=["GET", "POST"]),
        Route("/s/{sid}/audit", guarded(audit_page)),
        Route("/s/{sid}/delete", guarded(erase), methods=["POST"]),
        Route("/s/{sid}/p/{pid}/link", guarded(new_link), methods=["POST"]),
        Route("/s/{sid}/p/{pid}/revoke", guarded(revoke), methods=["POST"]),
        Route("/s/{sid}/p/{pid}/release", guarded(release), methods=["POST"]),
        Route("/p/{token}", guarded(participant_home), methods=["GET", "POST"]),
        Route("/p/{token}/save", guarded(participant_save), methods=["POST"]),
        Route("/p/{token}/reopen", guarded(reopen), methods=["POST"]),
        Route("/p/{token}/copy", guarded(own_copy)),
        Route("/p/{token}/answers.json", guarded(download)),
        Mount("/static", StaticFiles(packages=[("screening.web", "static")]), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.db = db
    return app


def _member(people: list[dict[str, Any]], pid: str) -> dict[str, Any]:
    for person in people:
        if person["id"] == pid:
            return person
    raise _Denied(404, N_("No such participant in this screening."))


def _session_plan(section: Any, form: dict[str, list[str]], lang: str) -> dict[str, Any]:
    answers, problems = read_answers(form, [section, _EMPTY_MEDICATIONS], lang)
    if problems:
        raise ValueError("; ".join(problems.values()))
    plan: dict[str, Any] = answers.get("session", {})
    return plan


def _pair_check(plan: dict[str, Any], label: str, answers: dict[str, Any]) -> dict[str, Any]:
    """A duo intake to check one partner's answers with: the other partner left unanswered."""
    other = "B" if label == "A" else "A"
    people = [{"participant_id": label, **answers}, {"participant_id": other}]
    return {"session": plan, "participants": sorted(people, key=lambda p: p["participant_id"])}


def _without_values(message: str) -> str:
    """An intake error names fields; the quoted values (answers) are cut out."""
    return re.sub(r"(input_value|got)\s*=?\s*\S+", "", message)


def _secured(response: Response, extra: str = "") -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP.format(extra=extra))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"  # every page: answers, links or the report
    return response


def _styled(html: str) -> Response:
    """The report's own page: its one inline style block allowed by hash, nothing else."""
    styles = re.findall(r"<style>(.*?)</style>", html, flags=re.DOTALL)
    hashes = "".join(f" 'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in styles)
    response = HTMLResponse(html)
    response.headers["Content-Security-Policy"] = CSP.format(extra=hashes)
    return response


class _NoMedications:
    link_id = "medications"
    questions = ()


_EMPTY_MEDICATIONS: Any = _NoMedications()
