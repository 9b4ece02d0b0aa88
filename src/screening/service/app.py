"""The ASGI app: discovery, the two hook services, feedback, and the rules' pages.

It only translates: hook request -> intake(s) -> :func:`screening.screen` -> cards. Every
error is a FHIR OperationOutcome that names fields and resources, never an answer; an engine
failure returns no cards at all. Nothing from a request body is logged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

import httpx
from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..engines.engine import EngineName
from ..errors import EngineError, IntakeError, ScreeningError
from ..i18n import checked_language, translator
from ..intake.reading import KeyTwice, each_key_once
from ..interop.cds_hooks import RULE_EXTENSION, Card
from ..interop.cds_hooks import cards as make_cards
from ..interop.fhir import intake_from_fhir, program_questionnaire_url, questionnaire_url
from ..pipeline.screener import screen
from ..version import __version__
from .auth import Authenticator, AuthError
from .feedback import CardLog, CardRecord, FeedbackSink, MemoryCardLog, ReportKeeper, parse_feedback
from .fhir_client import fetch_responses
from .hooks import (
    DuoElsewhere,
    HookError,
    duo_elsewhere_card,
    fhir_server_url,
    intake_resource,
    parse_request,
    pick_response,
    responses_in,
    services,
)
from .language import negotiated_language

if TYPE_CHECKING:
    from ..report.model import Report
    from ..rulebook.loading import Rulebook

__all__ = ["ServiceConfig", "create_app", "check_listening", "is_loopback", "REPORT_EXTENSION"]

log = logging.getLogger("screening.service")
REPORT_EXTENSION = "invalid.screening.report"
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class ServiceConfig:
    """How the service runs; ``public_url`` is the base URL clients call (the JWT ``aud``)."""

    public_url: str = "http://127.0.0.1:8080"
    trusted_issuers: dict[str, str] = field(default_factory=dict)  # iss -> JWK Set URL
    # iss -> the FHIR server base URLs its requests may name ("" is the key without authentication)
    fhir_servers: dict[str, list[str]] = field(default_factory=dict)
    insecure_no_auth: bool = False
    engine: EngineName = "auto"
    program: str | None = None
    fhir_base: str | None = None  # the canonical base the intake Questionnaires are published under
    allow_origins: tuple[str, ...] = ()  # browser origins allowed by CORS; none by default
    rules: str | None = None
    today: dt.date | None = None
    max_body_bytes: int = 1_000_000
    body_deadline: float = 10.0  # seconds to receive a whole request body
    fhir_timeout: float = 5.0
    max_token_lifetime: float = 600
    state_path: str | None = None  # a SQLite file the workers share (cards issued, token ids seen)
    store: str | None = None  # the decisions store (a SQLite path or a PostgreSQL URL) feedback is kept in
    lang: str = "en"  # the cards' language when a request's Accept-Language names none we have

    def check(self) -> None:
        checked_language(self.lang)  # an UnknownLanguage (a ValueError) naming the available ones
        if not self.insecure_no_auth and not self.trusted_issuers:
            raise ValueError("no trusted issuer: give --trust ISSUER=JWKS_URL (or --insecure-no-auth for a local trial)")
        if not self.public_url.startswith(("http://", "https://")):
            raise ValueError("the public URL must start with http:// or https://")
        for issuer, servers in self.fhir_servers.items():
            if issuer and issuer not in self.trusted_issuers:
                raise ValueError(f"--fhir-server names {issuer!r}, which is not a trusted issuer (--trust)")
            for server in servers:
                if fhir_server_url(server) != server.rstrip("/"):
                    raise ValueError(f"--fhir-server: {server!r} is not a base URL")
        for origin in self.allow_origins:
            if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?", origin):
                raise ValueError(f"--allow-origin takes an origin such as https://ehr.example.org, got {origin!r}")
        if self.fhir_base is not None:
            questionnaire_url(self.fhir_base)  # a ValueError naming the form a base must have


def is_loopback(host: str) -> bool:
    """Whether a listening address is reachable from this machine only."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listening(config: ServiceConfig, host: str) -> None:
    """No authentication is for a local trial: refused on an address others can reach."""
    if config.insecure_no_auth and not is_loopback(host):
        raise ValueError(f"--insecure-no-auth is for a local trial: listen on 127.0.0.1, not {host}")


class Issue(TypedDict):
    """One OperationOutcome issue: names fields and resources, never an answer."""

    severity: Literal["error", "information"]
    code: str
    diagnostics: str
    expression: NotRequired[list[str]]


@dataclass
class _Running:
    """What the app's lifespan sets up: the HTTP client, and the authenticator unless auth is off."""

    client: httpx.AsyncClient | None = None
    auth: Authenticator | None = None


def outcome(
    status: int, code: str, diagnostics: str, expression: str | None = None, extra: list[Issue] | None = None
) -> JSONResponse:
    issue: Issue = {"severity": "error" if status >= 400 else "information", "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    headers = {"WWW-Authenticate": 'Bearer realm="cds-services"'} if status == 401 else None
    return JSONResponse(
        {"resourceType": "OperationOutcome", "issue": [issue] + (extra or [])}, status, headers=headers, media_type=FHIR_JSON
    )


def service_rulebook(config: ServiceConfig) -> Rulebook:
    """The rulebook compiled for the configured program (the default program when none)."""
    from ..rulebook.loading import default, load
    from ..rulebook.programs import resolve

    book, _ = resolve(load(config.rules) if config.rules else default(), config.program)
    return book


def create_app(
    config: ServiceConfig | None = None,
    *,
    decisions: FeedbackSink | None = None,
    card_log: CardLog | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> FastAPI:
    """The CDS Hooks service.

    ``decisions``: where validated feedback is kept (the clinician-decisions store); without
    it feedback is checked and acknowledged but not kept. ``card_log``: where issued cards are
    remembered for checking feedback (per process by default). ``http_client``: for fetching
    JWK Sets and FHIR resources (made here, with the FHIR timeout, when not given).
    """
    config = config or ServiceConfig()
    config.check()
    book = service_rulebook(config)
    program_id = book.program.id if book.program is not None else "default"
    # responses to the base Questionnaire and to this program's own are read (under --fhir-base)
    questionnaires = tuple(
        dict.fromkeys((questionnaire_url(config.fhir_base), program_questionnaire_url(program_id, config.fhir_base)))
    )
    offered = services(questionnaires)
    base = config.public_url.rstrip("/")
    shared = None
    if config.state_path:
        from .state import SqliteState

        shared = SqliteState(config.state_path)
    cards_seen = card_log or shared or MemoryCardLog()
    from ..authoring.docs import rule_pages

    pages = rule_pages(book)  # the program's own severities; a compiled rulebook is not re-checked
    state = _Running()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(config.fhir_timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=100),
            trust_env=False,  # no proxy or .netrc credentials picked up from the environment
        )
        state.client = client
        state.auth = (
            None
            if config.insecure_no_auth
            else Authenticator(config.trusted_issuers, client, max_lifetime=config.max_token_lifetime, replay=shared)
        )
        if config.insecure_no_auth:
            log.warning("AUTHENTICATION IS OFF (--insecure-no-auth): any caller can screen; for local trials only")
        # one screening at start: the engine's rulesets are compiled before the first request
        try:
            yield
        finally:
            if http_client is None:
                await client.aclose()

    app = FastAPI(
        title="screening CDS Hooks service",
        version=__version__,
        description="CDS Hooks 2.0 services that screen intakes for psychedelic-assisted sessions. The screening decides nothing.",
        lifespan=lifespan,
        # no /docs, /redoc, /openapi.json: they answered without a token and loaded scripts from a CDN;
        # the CDS Hooks discovery endpoint (CDS Hooks 2.0 §"Discovery") is what clients read
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    from ..asgi import BodyDeadline

    app.add_middleware(BodyDeadline, deadline=config.body_deadline, max_bytes=config.max_body_bytes)
    if config.allow_origins:  # added last: the outermost, so a preflight never waits on a body
        from starlette.middleware.cors import CORSMiddleware

        # CDS Hooks 2.0 §"Cross-Origin Resource Sharing" (https://cds-hooks.hl7.org/2.0/#cross-origin-resource-sharing):
        # browser clients need CORS and the spec refers to OWASP: an explicit list of origins, no
        # credentials (the JWT is a header), only the methods and headers the endpoints use.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.allow_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
            max_age=600,
        )

    async def authenticate(request: Request, *audiences: str) -> str:
        """The caller's issuer ("" when authentication is off)."""
        if state.auth is None:
            return ""
        claims = await state.auth.verify(request.headers.get("authorization"), [base + a for a in audiences])
        return str(claims["iss"])

    allowed = {issuer: {s.rstrip("/") for s in servers} for issuer, servers in config.fhir_servers.items()}

    async def body_of(request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > config.max_body_bytes:
            raise HookError(413, "too-costly", f"the request body is larger than {config.max_body_bytes:,} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > config.max_body_bytes:
                raise HookError(413, "too-costly", f"the request body is larger than {config.max_body_bytes:,} bytes")
            chunks.append(chunk)
        # read as the command line reads a file: a key written twice is refused, never silently
        # read as its last value (the one a person looking at the request might not see)
        try:
            return json.loads(b"".join(chunks), object_pairs_hook=each_key_once)
        except KeyTwice as twice:
            raise HookError(400, "structure", f"the request writes the key {twice.key!r} more than once in one object") from None
        except (ValueError, RecursionError):
            raise HookError(400, "structure", "the request body is not valid JSON") from None

    @app.exception_handler(HookError)
    async def _hook_error(request: Request, error: HookError) -> JSONResponse:
        return outcome(error.status, error.code, error.diagnostics, error.expression)

    @app.exception_handler(AuthError)
    async def _auth_error(request: Request, error: AuthError) -> JSONResponse:
        return outcome(401, "login", f"not authenticated: {error}")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "not-supported"}.get(error.status_code, "processing")
        return outcome(error.status_code, code, "no such endpoint" if error.status_code == 404 else str(error.detail))

    @app.middleware("http")
    async def _unexpected(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # Caught here, not re-raised: the server would log the exception's text, which may hold data.
        try:
            return await call_next(request)
        except Exception as error:  # noqa: BLE001 - every failure: a 500 without the exception's text
            log.error("unexpected %s while answering %s", type(error).__name__, request.url.path)  # the type only
            return outcome(500, "exception", "the service failed; no cards are returned")

    # response_model=None: the bodies are built here, FastAPI does not read a model from the annotation
    @app.get("/cds-services", response_model=None)
    async def discovery(request: Request) -> dict[str, list[dict[str, Any]]]:
        await authenticate(request, "/cds-services")
        return {"services": [s.discovery() for s in offered.values()]}

    @app.get("/healthz", include_in_schema=False, response_model=None)
    async def health() -> dict[str, object]:
        return {"status": "ok", "rulebook": {"version": book.version, "sha256": book.sha256}, "auth": not config.insecure_no_auth}

    @app.get("/rules/{rule_id}", response_class=PlainTextResponse)
    async def rule_page(rule_id: str) -> Response:
        """A rule's documentation page (Markdown), linked from each card: not patient data, so open."""
        if rule_id not in pages:
            raise HookError(404, "not-found", "no rule with this id in the service's rulebook")
        return Response(pages[rule_id], media_type="text/markdown; charset=utf-8")

    @app.post("/cds-services/{service_id}", response_model=None)
    async def call(service_id: str, request: Request, reply: Response) -> JSONResponse | dict[str, object]:
        service = offered.get(service_id)
        if service is None:
            raise HookError(404, "not-found", "no CDS service with this id (see GET /cds-services)")
        issuer = await authenticate(request, f"/cds-services/{service_id}")
        # The cards' language: CDS Hooks 2.0 has no language field in a hook request (§"HTTP Request",
        # https://cds-hooks.hl7.org/2.0/#http-request_1), so HTTP's own: Accept-Language (RFC 9110 §12.5.4).
        lang = negotiated_language(request.headers.get("accept-language"), config.lang)
        reply.headers["Content-Language"] = lang  # FastAPI puts these on an answer returned as a dict
        reply.headers["Vary"] = "Accept-Language"
        hook = parse_request(await body_of(request), service)
        candidates: dict[str, list[dict[str, Any]]] = {p: [] for p in hook.patients}
        for value in hook.prefetch.values():
            for response in responses_in(value, questionnaires[0]):
                for patient in hook.patients:
                    candidates[patient].append(response)
        chosen = {p: pick_response(p, c) for p, c in candidates.items()}
        missing = [p for p, r in chosen.items() if r is None]
        reasons = {p: "the prefetch holds no completed intake response and the request gives no fhirServer" for p in missing}
        if missing and hook.fhir_server and hook.fhir_server not in allowed.get(issuer, ()):
            # Not in CDS Hooks 2.0 (§"Trusting CDS Services" has the service pre-registered with the FHIR
            # server's authorization server, https://cds-hooks.hl7.org/2.0/#trusting-cds-services): our own
            # allow-list per issuer, so a caller cannot point the service (and its token) at any host.
            reasons = {
                p: "the request's fhirServer is not on this service's list for this client (--fhir-server)" for p in missing
            }
        elif missing and hook.fhir_server and hook.fhir_token is None:
            # §"FHIR Resource Access" (https://cds-hooks.hl7.org/2.0/#fhir-resource-access): the service MAY use
            # the FHIR server when the client gives both fhirServer and fhirAuthorization
            reasons = {p: "the request gives fhirServer without fhirAuthorization" for p in missing}
        elif missing and hook.fhir_server:
            if state.client is None:
                raise RuntimeError("the app's lifespan has not started")  # a 500, as any unexpected failure
            fetched = await fetch_responses(
                state.client, hook.fhir_server, missing, hook.fhir_token, questionnaires, config.fhir_timeout
            )
            for patient, (found, reason) in fetched.items():
                chosen[patient] = pick_response(patient, found)
                reasons[patient] = reason
        responses = {p: r for p, r in chosen.items() if r is not None}
        missing = [p for p in chosen if p not in responses]
        if missing:
            first, *others = missing
            issues: list[Issue] = [
                {
                    "severity": "error",
                    "code": "not-found",
                    "diagnostics": f"{p}: {reasons[p]}",
                    "expression": [f"QuestionnaireResponse?subject={p}"],
                }
                for p in others
            ]
            return outcome(412, "not-found", f"{first}: {reasons[first]}", f"QuestionnaireResponse?subject={first}", issues)
        try:
            resource, patients = intake_resource(hook, responses)
        except DuoElsewhere:
            return {"cards": [duo_elsewhere_card(lang)]}

        def screened() -> Report:
            intake = intake_from_fhir(resource, base=config.fhir_base, today=config.today, program=program_id)
            return screen(intake, rulebook=book, engine=config.engine, today=config.today)

        try:  # CPU-bound: in a worker thread, so the event loop keeps answering (/healthz among others)
            report = await to_thread.run_sync(screened)
        except IntakeError as error:
            problems: list[Issue] = [{"severity": "error", "code": "invalid", "diagnostics": str(p)} for p in error.problems[:50]]
            return JSONResponse({"resourceType": "OperationOutcome", "issue": problems}, 422, media_type=FHIR_JSON)
        except EngineError:
            log.error("the engine failed on %s; no cards returned", service_id)
            return outcome(500, "exception", "the screening could not be completed; no cards are returned (it fails closed)")
        except ScreeningError as error:  # e.g. an optional extra missing: a message without data
            return outcome(500, "exception", str(error).splitlines()[0])
        if isinstance(decisions, ReportKeeper):  # its digest (no answers), so feedback can bind to it
            await to_thread.run_sync(decisions.add_report, report, book)  # store I/O: never on the event loop
        result = make_cards(
            report,
            book,
            hook_instance=hook.hook_instance,
            patients=patients,
            rule_url=lambda f: f"{base}/rules/{f.rule_id}",
            lang=lang,
        )
        report_id = report.report_id
        await to_thread.run_sync(
            cards_seen.remember,
            [_record(card, service_id, hook.hook_instance, report_id, report.rulebook.sha256, hook.user) for card in result],
        )
        about: dict[str, object] = {
            "rulebook": {"version": report.rulebook.version, "sha256": report.rulebook.sha256},
            "engine": report.engine,
            "library_version": report.library_version,
            "patients": list(hook.patients),
            "notice": translator(lang)(report.notice),  # the cards' language, without translating the report again
            "language": lang,
        }
        about["program"] = report.program  # the program's id, version and sha256
        about["report_id"] = report_id
        # a JSONResponse of plain JSON values: returning the dict, FastAPI's jsonable_encoder walks every
        # card first (about a tenth of a duo call's CPU, benchmarks/service.py); its headers are set here
        # because FastAPI does not copy `reply`'s onto a response the endpoint returns
        answer = {"cards": result, "extension": {REPORT_EXTENSION: _jsonable(about)}}
        return JSONResponse(answer, headers={"Content-Language": lang, "Vary": "Accept-Language"})

    @app.post("/cds-services/{service_id}/feedback")
    async def feedback(service_id: str, request: Request) -> JSONResponse:
        if service_id not in offered:
            raise HookError(404, "not-found", "no CDS service with this id (see GET /cds-services)")
        await authenticate(request, f"/cds-services/{service_id}", f"/cds-services/{service_id}/feedback")
        body = await body_of(request)
        entries = await to_thread.run_sync(partial(parse_feedback, body, service_id, cards_seen))  # looks cards up
        if decisions is not None:
            await to_thread.run_sync(decisions.record, entries)
            said = f"{len(entries)} feedback entries validated and kept"
        else:
            said = f"{len(entries)} feedback entries validated; not kept (this service has no decisions store)"
        return JSONResponse(
            {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "information", "code": "informational", "diagnostics": said}],
            },
            media_type=FHIR_JSON,
        )

    return app


def _record(card: Card, service_id: str, hook_instance: str, report_id: str, rulebook_sha256: str, user: str) -> CardRecord:
    """What is remembered of an issued card, to check feedback on it (no answers)."""
    flag = card["extension"][RULE_EXTENSION]
    if "patients" not in flag:  # cards() names them whenever it is given patients, as here
        raise ValueError("a card without its FHIR patients")
    return CardRecord(
        uuid=card["uuid"],
        service_id=service_id,
        hook_instance=hook_instance,
        rule_id=flag["rule_id"],
        participant=flag["participant"],
        patients=tuple(flag["patients"]),
        override_reasons=tuple((r["system"], r["code"]) for r in card["overrideReasons"]),
        report_id=report_id,
        rulebook_sha256=rulebook_sha256,
        user=user,
    )


def _jsonable(value: object) -> object:
    """Models (the program) as JSON, by their own dump."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
