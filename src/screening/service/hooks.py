"""CDS Hooks requests in, intakes out: the services, their prefetch templates, request checks.

Framework-free, so every rule about what a hook request may hold is tested without a server.
A duo is an ``appointment-book`` Appointment with two Patient participants, each with their
own completed QuestionnaireResponse to the project's Questionnaire. ``patient-view`` screens
one patient's own intake; a duo member is screened where both are in context (the appointment),
so a chart never shows what the partner answered.

Every problem is a :class:`HookError` carrying the HTTP status and a message that names
fields and resources, never an answer.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..i18n import translator
from ..interop.fhir import ACCEPTED_STATUSES, QUESTIONNAIRE_URL

__all__ = [
    "HookError",
    "DuoElsewhere",
    "duo_elsewhere_card",
    "HookName",
    "Service",
    "SERVICES",
    "services",
    "HookRequest",
    "parse_request",
    "responses_in",
    "pick_response",
    "instant_span",
    "intake_resource",
    "search_path",
    "fhir_server_url",
]

HookName = Literal["appointment-book", "patient-view"]  # the CDS Hooks this service answers

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_STATUSES = ",".join(ACCEPTED_STATUSES)
_USER = re.compile(r"^(Practitioner|PractitionerRole|Patient|RelatedPerson)/[A-Za-z0-9\-.]{1,64}$")


class HookError(Exception):
    """A request the service cannot answer with cards; ``status`` is the HTTP status."""

    def __init__(self, status: int, code: str, diagnostics: str, expression: str | None = None):
        super().__init__(diagnostics)
        self.status, self.code, self.diagnostics, self.expression = status, code, diagnostics, expression


class DuoElsewhere(Exception):
    """patient-view for a duo member: the duo is screened where both people are in context.

    Not a 412: CDS Hooks 2.0 §"HTTP Status Codes" (https://cds-hooks.hl7.org/2.0/#http-status-codes_1)
    keeps 412 for data the service cannot fetch; here the data is there, and the answer is a
    card saying where the screening is shown (:func:`duo_elsewhere_card`).
    """


def duo_elsewhere_card(lang: str | None = None) -> dict[str, Any]:
    """The one card patient-view shows a duo member: where the screening is, and no answers.

    No ``uuid``: there is nothing to give feedback on (CDS Hooks 2.0 §"Feedback", a client sends none
    for a card without one, https://cds-hooks.hl7.org/2.0/#feedback); ``summary`` under 140
    characters (§"Card Attributes", https://cds-hooks.hl7.org/2.0/#card-attributes), in every language.
    """
    _ = translator(lang)
    return {
        "summary": _("Duo session intake: its screening is shown when the duo's appointment is booked"),
        "indicator": "info",
        "detail": _(
            "This patient's intake is for a duo session. A duo is screened on the Appointment that names "
            "both people (the appointment-book hook), so that one person's chart never shows what the other "
            "answered. No screening is shown here; nothing has been decided."
        ),
        "source": {"label": _("screening (CDS Hooks service)")},
    }


def search_path(patient_ref: str, questionnaires: tuple[str, ...] = (QUESTIONNAIRE_URL,)) -> str:
    """The FHIR search for a patient's latest completed response to the intake Questionnaire(s)
    (the base one and the program's own; a comma is FHIR search's "or")."""
    wanted = ",".join(questionnaires)
    return f"QuestionnaireResponse?subject={patient_ref}&questionnaire={wanted}&status={_STATUSES}&_sort=-authored&_count=1"


@dataclass(frozen=True)
class Service:
    id: str
    hook: HookName
    title: str
    description: str
    prefetch: dict[str, str]

    def discovery(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": dict(self.prefetch),
        }


def services(questionnaires: tuple[str, ...] = (QUESTIONNAIRE_URL,)) -> dict[str, Service]:
    """The two services, their prefetch asking for responses to these Questionnaires."""
    template = search_path("Patient/{{context.patientId}}", questionnaires)
    return {
        service.id: service
        for service in (
            Service(
                id="screening-appointment",
                hook="appointment-book",
                title="Psychedelic-session screening (individual or duo)",
                description=(
                    "Screens the intake of each Patient on the booked Appointment (two Patients: a duo) against "
                    "published contraindication criteria; one card per finding for a clinician to review. "
                    "The screening decides nothing."
                ),
                prefetch={"intake": template},
            ),
            Service(
                id="screening-patient",
                hook="patient-view",
                title="Psychedelic-session screening (this patient's own intake)",
                description=(
                    "Screens this patient's own completed intake for an individual session; a duo's intakes are "
                    "screened on appointment-book, where both people are in context. The screening decides nothing."
                ),
                prefetch={"intake": template},
            ),
        )
    }


SERVICES = services()


@dataclass(frozen=True)
class HookRequest:
    service: Service
    hook_instance: str
    patient: str  # the context patient, "Patient/<id>"
    patients: tuple[str, ...]  # whose intakes are screened: one, or the duo's two
    prefetch: Mapping[str, Any]
    fhir_server: str | None
    fhir_token: str | None = field(default=None, repr=False)
    user: str = ""  # context.userId: the clinician (or other user) the cards are shown to


def _bad(message: str, expression: str | None = None, code: str = "invalid") -> HookError:
    return HookError(400, code, message, expression)


def _patient_ref(reference: Any) -> str | None:
    """'Patient/123' from a relative or absolute reference; None when it is not a Patient."""
    if not isinstance(reference, str):
        return None
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "Patient" and _FHIR_ID.match(parts[-1]):
        return f"Patient/{parts[-1]}"
    return None


def _appointment_patients(context: Mapping[str, Any]) -> tuple[str, ...]:
    bundle = context.get("appointments")
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise _bad("context.appointments must be a FHIR Bundle of the Appointments being booked", "context.appointments")
    entries = bundle.get("entry")
    resources: list[Mapping[str, Any]] = [
        e["resource"] for e in entries or [] if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)
    ]
    appointments = [a for a in resources if a.get("resourceType") == "Appointment"]
    if len(appointments) != 1:
        raise _bad(
            f"context.appointments: one Appointment per request is screened, found {len(appointments)}", "context.appointments"
        )
    found: list[str] = []
    for index, participant in enumerate(appointments[0].get("participant") or []):
        actor = participant.get("actor") if isinstance(participant, Mapping) else None
        reference = actor.get("reference") if isinstance(actor, Mapping) else None
        if isinstance(reference, str) and reference.split("/_history/")[0].rstrip("/").split("/")[-2:-1] == ["Patient"]:
            ref = _patient_ref(reference)
            if ref is None:
                raise _bad(
                    f"Appointment.participant[{index}].actor.reference is not a valid Patient reference",
                    f"Appointment.participant[{index}]",
                )
            if ref not in found:
                found.append(ref)
    if not found:
        raise _bad("the Appointment has no Patient participant", "Appointment.participant")
    if len(found) > 2:
        raise HookError(
            422,
            "not-supported",
            f"the Appointment has {len(found)} Patient participants; one (individual) or two (duo) are screened",
            "Appointment.participant",
        )
    return tuple(found)


def fhir_server_url(value: Any) -> str:
    """``fhirServer`` as a base URL the service may call, or a 400.

    CDS Hooks 2.0 §"HTTP Request" (https://cds-hooks.hl7.org/2.0/#http-request_1): a URL, https
    for production data. Credentials (userinfo), a query and a fragment would let a caller steer
    the request the service makes (the path, the Authorization sent), so they are refused; the
    allow-list of servers per issuer is checked by the app.
    """
    from urllib.parse import urlsplit

    problem = _bad("fhirServer must be an http(s) base URL without credentials, query or fragment", "fhirServer")
    if not isinstance(value, str) or len(value) > 2000 or not value.isascii() or any(c <= " " or c == "\x7f" for c in value):
        raise problem
    if "?" in value or "#" in value or "@" in value or "\\" in value:
        raise problem
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise problem from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise problem
    return value.rstrip("/")


def parse_request(body: Any, service: Service) -> HookRequest:
    """Check a hook request against CDS Hooks 2.0 and the service's hook; 400 when it is not one."""
    if not isinstance(body, Mapping):
        raise _bad("the request body must be a JSON object (a CDS Hooks request)")
    if body.get("hook") != service.hook:
        raise _bad(f"hook: this service answers '{service.hook}'", "hook")
    instance = body.get("hookInstance")
    if not isinstance(instance, str):
        raise _bad("hookInstance must be a UUID string", "hookInstance")
    try:
        uuid.UUID(instance)
    except ValueError:
        raise _bad("hookInstance must be a UUID string", "hookInstance") from None
    context = body.get("context")
    if not isinstance(context, Mapping):
        raise _bad("context must be an object", "context")
    patient_id = context.get("patientId")
    if not isinstance(patient_id, str) or not _FHIR_ID.match(patient_id):
        raise _bad("context.patientId must be a FHIR id", "context.patientId")
    patient = f"Patient/{patient_id}"
    # CDS Hooks 2.0 hooks library, patient-view and appointment-book 1.0: context.userId is REQUIRED,
    # "[ResourceType]/[id]" of a Practitioner, PractitionerRole, Patient or RelatedPerson.
    user = context.get("userId")
    if not isinstance(user, str) or not _USER.match(user):
        raise _bad(
            "context.userId is required: the user's Practitioner/, PractitionerRole/, Patient/ or RelatedPerson/ id",
            "context.userId",
        )
    server = body.get("fhirServer")
    auth = body.get("fhirAuthorization")
    token = None
    if server is not None:
        server = fhir_server_url(server)
    if auth is not None:
        if server is None:
            raise _bad("fhirServer is required with fhirAuthorization", "fhirServer")
        if not isinstance(auth, Mapping) or not isinstance(auth.get("access_token"), str) or not auth["access_token"]:
            raise _bad("fhirAuthorization.access_token must be a string", "fhirAuthorization.access_token")
        if str(auth.get("token_type", "")).lower() != "bearer":
            raise _bad("fhirAuthorization.token_type must be 'Bearer'", "fhirAuthorization.token_type")
        token = auth["access_token"]
    prefetch = body.get("prefetch", {})
    if prefetch is None:
        prefetch = {}
    if not isinstance(prefetch, Mapping):
        raise _bad("prefetch must be an object", "prefetch")
    if service.hook == "appointment-book":
        patients = _appointment_patients(context)
        if patient not in patients:
            raise _bad("context.patientId is not a Patient participant of the Appointment", "context.patientId")
    else:
        patients = (patient,)
    return HookRequest(service, instance, patient, patients, prefetch, server, token, user)


def responses_in(resource: Any, questionnaire: str = QUESTIONNAIRE_URL) -> list[dict[str, Any]]:
    """The QuestionnaireResponses to the intake Questionnaire in a prefetch or search result.

    ``questionnaire``: the base Questionnaire's URL; responses to it and to every program's own
    (``<url>-<program>``) are read, so one to another program's is refused by name when it is
    screened, never passed over for an older one. A ``searchset`` Bundle's matches are read
    (included resources and OperationOutcomes are not); a single resource is read as itself;
    ``null`` (nothing found) gives none.
    """
    if not isinstance(resource, Mapping):
        return []
    if resource.get("resourceType") == "Bundle":
        found = []
        for entry in resource.get("entry") or []:
            if not isinstance(entry, Mapping):
                continue
            search = entry.get("search")
            mode = search.get("mode", "match") if isinstance(search, Mapping) else "match"
            inner = entry.get("resource")
            if mode == "match" and isinstance(inner, Mapping):
                found += responses_in(inner, questionnaire)
        return found
    if resource.get("resourceType") != "QuestionnaireResponse":
        return []
    canonical = str(resource.get("questionnaire") or "").split("|")[0]
    if canonical != questionnaire and not canonical.startswith(questionnaire + "-"):
        return []
    return [dict(resource)]


def subject_of(response: Mapping[str, Any]) -> str | None:
    subject = response.get("subject")
    return _patient_ref(subject.get("reference")) if isinstance(subject, Mapping) else None


# FHIR R4 dateTime (http://hl7.org/fhir/R4/datatypes.html#dateTime): a year, a month, a day, or a
# time to the second with optional fractions; a time carries a zone ("Z" or an offset).
_DATE_TIME = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})(?P<f>\.\d{1,9})?(?P<z>Z|[+-]\d{2}:\d{2}))?)?)?$"
)
_ZONES = dt.timedelta(hours=14)  # a date without a time is a local day: anywhere from UTC-12 to UTC+14


def instant_span(text: Any) -> tuple[dt.datetime, dt.datetime] | None:
    """The UTC span a FHIR dateTime covers, [start, end); None when it is not a FHIR dateTime.

    Time is compared as time, never as text: ``11:00+02:00`` is before ``10:00Z``, ``10:00:00.5Z``
    after ``10:00:00Z``, and ``2026-11-20`` (the whole day, in some zone) overlaps both.
    """
    if not isinstance(text, str) or len(text) > 40:
        return None
    match = _DATE_TIME.match(text)
    if match is None:
        return None
    g = match.groupdict()
    try:
        if g["H"] is not None:
            fraction = (g["f"] or ".")[1:7].ljust(6, "0")
            start = dt.datetime.fromisoformat(
                f"{g['y']}-{g['m']}-{g['d']}T{g['H']}:{g['M']}:{g['S']}.{fraction}{'+00:00' if g['z'] == 'Z' else g['z']}"
            ).astimezone(dt.UTC)
            return start, start + dt.timedelta(microseconds=1)  # a time is an instant: 10:00:00Z is 10:00:00.000Z
        year, month, day = int(g["y"]), int(g["m"] or 1), int(g["d"] or 1)
        first = dt.datetime(year, month, day, tzinfo=dt.UTC)
        if g["d"] is not None:
            after = first + dt.timedelta(days=1)
        elif g["m"] is not None:
            after = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
        else:
            after = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
        return first - _ZONES, after + _ZONES
    except (ValueError, OverflowError):
        return None


def pick_response(patient: str, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """This patient's current completed response: the latest ``authored`` when there are several.

    ``authored`` is read as an instant (zones, fractions, partial dates as the span they cover).
    Several responses that cannot be ordered (no ``authored``, the same instant, spans that
    overlap) are an error naming the patient, never a guess.
    """
    mine = [r for r in candidates if subject_of(r) == patient and r.get("status") in ACCEPTED_STATUSES]
    if len(mine) <= 1:
        return mine[0] if mine else None
    spans = [instant_span(r.get("authored")) for r in mine]
    if any(span is None for span in spans):
        raise HookError(
            422,
            "multiple-matches",
            f"{patient} has {len(mine)} completed intake responses and not all have a valid 'authored' date-time; "
            "which one is current cannot be told",
            "QuestionnaireResponse.authored",
        )
    dated = sorted(zip(spans, range(len(mine))), key=lambda pair: pair[0] or (), reverse=True)
    latest = dated[0][0]
    if latest is None or any(other is None or latest[0] < other[1] for other, _ in dated[1:]):  # after every other ends
        raise HookError(
            422,
            "multiple-matches",
            f"{patient} has completed intake responses whose 'authored' times cannot be ordered (the same instant, "
            "or a date without a time that overlaps another); which one is current cannot be told",
            "QuestionnaireResponse.authored",
        )
    return mine[dated[0][1]]


def _answer(response: Mapping[str, Any], link_id: str) -> Any:
    for item in response.get("item") or []:
        if not isinstance(item, Mapping):
            continue
        if item.get("linkId") == link_id:
            for answer in item.get("answer") or []:
                if isinstance(answer, Mapping):
                    value = answer.get("valueCoding", answer.get("valueString"))
                    return value.get("code") if isinstance(value, Mapping) else value
        found = _answer(item, link_id)
        if found is not None:
            return found
    return None


def intake_resource(request: HookRequest, responses: Mapping[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """The response (or duo Bundle) to screen, and participant id -> Patient reference.

    The appointment decides how many people take part; a response whose session format says
    otherwise is a 422, never a screening of half a duo.
    """
    wanted = "duo" if len(request.patients) == 2 else "individual"
    mapping: dict[str, str] = {}
    for patient in request.patients:
        response = responses[patient]
        declared = _answer(response, "session.format")
        if declared != wanted:
            if request.service.hook == "patient-view" and declared == "duo":
                raise DuoElsewhere(patient)
            where = "the Appointment names two patients" if wanted == "duo" else "the Appointment names one patient"
            # the answer itself is never quoted: it may be anything the form let someone type
            raise HookError(
                422,
                "invalid",
                f"{where}, but the intake of {patient} does not answer session.format with '{wanted}'",
                "session.format",
            )
        pid = _answer(response, "participant_id")
        if isinstance(pid, str):
            mapping[pid] = patient
    if len(request.patients) == 1:
        return responses[request.patients[0]], mapping
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": responses[p]} for p in request.patients],
    }, mapping
