"""Pydantic models of what an intake asks, for one participant or a duo.

Answers to yes/no questions are tri-state: ``yes``, ``no`` or ``unknown`` (not answered or
unsure). ``unknown`` is the default and is never read as ``no``. Every field carries the
question as it is asked, so the rulebook, the missing-information list and the generated
documentation all quote the same words.

Validation is strict: unknown fields, impossible values and inconsistent structure are
rejected with a message that names each offending field.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "Answer",
    "Substance",
    "Intake",
    "Session",
    "Participant",
    "Person",
    "Psychiatric",
    "FamilyHistory",
    "Physical",
    "Needs",
    "Readiness",
    "Plan",
    "Relationship",
    "Medication",
    "PARTICIPANT_ID_PATTERN",
    "RESERVED_PARTICIPANT_IDS",
]


_ANSWERS = frozenset({"yes", "no", "unknown"})


def _tri_state(value: Any) -> Any:
    """Exactly what the published JSON Schema accepts: "yes", "no", "unknown", or null for not
    answered. Other spellings ("Yes", "unsure", true) are refused rather than guessed at."""
    if type(value) is str and value in _ANSWERS:  # the common case, first: runs for every answer
        return value
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        raise ValueError("an answer is the text 'yes', 'no' or 'unknown', not true/false (in YAML, quote yes and no)")  # noqa: TRY004 - pydantic reports ValueError, not TypeError
    return value  # pydantic refuses anything else, naming the three answers


Answer = Annotated[Literal["yes", "no", "unknown"], BeforeValidator(_tri_state)]
"""A tri-state answer. ``unknown`` means not answered or unsure; it is never read as ``no``."""


def _number(value: Any) -> Any:
    """A number comes as a JSON number, as the schema says: ``true`` is not 1 (a yes/no given
    where a number is asked is a mistake, not an answer) and "46" is text."""
    if isinstance(value, bool):
        raise ValueError("a number is asked here, not true/false")  # noqa: TRY004 - pydantic reports ValueError, not TypeError
    if isinstance(value, str):
        raise ValueError("a number is asked here, not text")  # noqa: TRY004 - as above
    return value


def _date_text(value: Any) -> Any:
    """A date comes as text (YYYY-MM-DD) or a YAML date, as the schema says: never a number
    (pydantic would read 0 as 1 January 1970)."""
    if isinstance(value, (int, float)):
        raise ValueError("a date is asked here, written YYYY-MM-DD, not a number")  # noqa: TRY004 - pydantic reports ValueError, not TypeError
    return value


_NUMBER = BeforeValidator(_number)
_DATE = BeforeValidator(_date_text)

EARLIEST_DATE = dt.date(1900, 1, 1)


def _today(info: ValidationInfo) -> dt.date:
    """The date plausibility is judged against: the caller's ``today``, else the real date."""
    return (info.context or {}).get("today") or dt.date.today()


def _years_from(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


class Substance(str, Enum):
    """The substances a session can be planned with."""

    psilocybin = "psilocybin"
    mdma = "mdma"
    ketamine = "ketamine"
    lsd = "lsd"
    ayahuasca = "ayahuasca"
    dmt = "dmt"


def _question(text: str, **kwargs: Any) -> Any:
    return Field(default="unknown", description=text, **kwargs)


class _Strict(BaseModel):
    # revalidate_instances: an Intake built in Python or edited with model_copy is checked again
    # when it is screened, so an edit cannot carry an impossible value past validation.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, revalidate_instances="always")


class Session(_Strict):
    """The shared plan for the session (one per intake, shared by both people in a duo)."""

    substance: Substance = Field(description="Which substance is planned for the session?")
    format: Literal["individual", "duo"] = Field(
        description="Is the session for one person (individual) or for two people together (duo)?"
    )
    setting: Literal["clinic", "service_center", "retreat", "home", "other", "unknown"] = _question(
        "Where will the session take place?"
    )
    planned_date: Annotated[dt.date | None, _DATE] = Field(
        default=None,
        description="On what date is the session planned? Medication washout is counted to this date.",
    )
    session_hours: Annotated[float | None, _NUMBER] = Field(
        default=None, gt=0, le=48, description="How many hours is the session planned to last?"
    )
    sober_facilitators: Annotated[int | None, _NUMBER] = Field(
        default=None,
        ge=0,
        le=20,
        description="How many facilitators who take no substance will be present for the whole session?",
    )
    preparation_planned: Answer = _question("Is at least one preparation meeting planned before the session?")
    integration_planned: Answer = _question("Is at least one integration meeting planned after the session?")
    facilitator_trained_and_vetted: Answer = _question(
        "Is the facilitator trained for this work, and have their training and references been checked?"
    )

    @field_validator("planned_date")
    @classmethod
    def _plausible_planned_date(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        today = _today(info)
        if value is not None and not _years_from(today, -1) <= value <= _years_from(today, 2):
            raise ValueError(
                f"a planned date is at most one year before and at most two years after today ({today}); "
                "washout periods are counted to it"
            )
        return value


class Person(_Strict):
    """Age, body and reproductive status."""

    age: Annotated[int | None, _NUMBER] = Field(default=None, ge=0, le=120, description="How old are you, in years?")
    weight_kg: Annotated[float | None, _NUMBER] = Field(
        default=None, ge=20, le=400, description="What is your body weight, in kilograms?"
    )
    can_become_pregnant: Answer = _question(
        "Is it possible for your body to become pregnant (whether or not you plan to)? If not, the pregnancy questions are skipped."
    )
    pregnant: Answer = _question("Are you pregnant, or could you be pregnant?")
    breastfeeding: Answer = _question("Are you breastfeeding?")
    trying_to_conceive: Answer = _question("Are you trying to conceive, or planning to in the coming months?")
    contraception_after_session: Answer = _question(
        "If you could become pregnant: will you use reliable contraception until at least 10 days after the session?"
    )


class Psychiatric(_Strict):
    """Personal psychiatric history, now and ever."""

    psychotic_disorder: Answer = _question("Have you ever been diagnosed with schizophrenia or another psychotic disorder?")
    psychosis_substance_induced_only: Answer = _question(
        "If you have had psychosis: did it only ever happen under the influence of a substance or a medical condition?"
    )
    active_psychosis: Answer = _question(
        "Have you ever been diagnosed with active psychosis, or do you have psychotic symptoms now?"
    )
    bipolar_1: Answer = _question("Have you ever been diagnosed with bipolar I disorder?")
    bipolar_2: Answer = _question("Have you ever been diagnosed with bipolar II disorder?")
    mania_history: Answer = _question("Have you ever had an episode of mania?")
    depression_with_psychotic_features: Answer = _question(
        "Have you ever had a depression with psychotic features (hearing or seeing things, fixed false beliefs)?"
    )
    borderline_personality_disorder: Answer = _question("Have you ever been diagnosed with borderline personality disorder?")
    other_personality_disorder: Answer = _question(
        "Have you ever been diagnosed with another personality disorder (for example paranoid, schizotypal or antisocial)?"
    )
    dissociative_identity_disorder: Answer = _question("Have you ever been diagnosed with dissociative identity disorder?")
    thoughts_of_harm_now: Answer = _question(
        "Are you having thoughts of causing harm, or wanting to cause harm, to yourself or others?"
    )
    history_of_harm: Answer = _question("Do you have a history of causing harm, or wanting to cause harm, to yourself or others?")
    suicide_attempt_last_12_months: Answer = _question("Have you attempted suicide in the last 12 months?")
    substance_use_disorder_active: Answer = _question(
        "Do you currently have a problem with alcohol or drug use (a substance use disorder), or have you had one in the last 12 months?"
    )
    eating_disorder_active_purging: Answer = _question(
        "Do you currently have an eating disorder with purging (vomiting, laxatives)?"
    )
    prolonged_reaction_to_psychedelic: Answer = _question(
        "Have you ever had a reaction to a psychedelic, MDMA or ketamine that lasted days or longer after the drug wore off"
        " (for example lasting fear, confusion, or seeing or hearing things that others did not)?"
    )
    persisting_perception_changes: Answer = _question(
        "After taking a psychedelic, have changes in what you see (trails, halos, flashes of colour, movement at the edge of"
        " vision) come back or stayed after the drug wore off?"
    )
    ketamine_misuse_history: Answer = _question(
        "Have you ever used ketamine often outside medical care (for example weekly or more, for months)?"
    )
    frequent_dissociation: Answer = _question("Do you often dissociate (feel unreal, detached from your body, or lose time)?")
    complex_trauma: Answer = _question(
        "Have you experienced long-lasting or repeated trauma (complex trauma), for example in childhood?"
    )
    current_treatment: Answer = _question(
        "Are you currently being treated by a medical, clinical or other healthcare provider for a medical, mental health, or behavioral health condition?"
    )


class FamilyHistory(_Strict):
    """Psychiatric history of blood relatives."""

    first_degree_psychotic_disorder: Answer = _question(
        "Has a parent, brother, sister or child of yours been diagnosed with schizophrenia or another psychotic disorder?"
    )
    first_degree_bipolar: Answer = _question(
        "Has a parent, brother, sister or child of yours been diagnosed with bipolar I or II disorder?"
    )
    second_degree_psychotic_disorder: Answer = _question(
        "Has a grandparent, aunt, uncle, niece, nephew or half-sibling of yours been diagnosed with schizophrenia or another psychotic disorder?"
    )
    second_degree_bipolar: Answer = _question(
        "Has a grandparent, aunt, uncle, niece, nephew or half-sibling of yours been diagnosed with bipolar I or II disorder?"
    )


class Physical(_Strict):
    """Physical health: heart and circulation, brain, liver, kidneys, metabolism, allergy."""

    systolic_bp: Annotated[int | None, _NUMBER] = Field(
        default=None, ge=60, le=280, description="Your most recent blood pressure: the upper (systolic) number, in mmHg."
    )
    diastolic_bp: Annotated[int | None, _NUMBER] = Field(
        default=None, ge=30, le=180, description="Your most recent blood pressure: the lower (diastolic) number, in mmHg."
    )
    heart_attack_last_6_months: Answer = _question("Have you had a heart attack in the last 6 months?")
    heart_attack_ever: Answer = _question("Have you ever had a heart attack?")
    stroke_or_tia_last_6_months: Answer = _question(
        "Have you had a stroke or a transient ischaemic attack (TIA, 'mini-stroke') in the last 6 months?"
    )
    stroke_ever: Answer = _question("Have you ever had a stroke or a bleed in the brain?")
    arrhythmia: Answer = _question("Have you ever been told you have an irregular heartbeat (arrhythmia)?")
    long_qt: Answer = _question("Have you ever been told you have a long QT interval on an ECG?")
    heart_failure: Answer = _question("Have you been diagnosed with heart failure?")
    valve_disease: Answer = _question("Have you been diagnosed with heart valve disease?")
    coronary_artery_disease: Answer = _question(
        "Have you been diagnosed with coronary artery disease (narrowed heart arteries, angina)?"
    )
    aneurysm: Answer = _question("Have you been diagnosed with an aneurysm or an arteriovenous malformation?")
    seizure_disorder: Answer = _question("Have you ever had epilepsy or seizures?")
    raised_brain_or_eye_pressure: Answer = _question(
        "Have you been told you have raised pressure in the head (brain) or in the eye (such as glaucoma), or do you have"
        " an eye injury?"
    )
    bladder_symptoms: Answer = _question(
        "Do you have bladder problems now, such as pain when passing urine, needing to go often or urgently, or blood in"
        " the urine?"
    )
    liver_disease: Answer = _question("Have you been diagnosed with liver disease?")
    kidney_disease: Answer = _question("Have you been diagnosed with kidney disease?")
    diabetes_on_insulin: Answer = _question("Do you have diabetes treated with insulin?")
    mushroom_allergy: Answer = _question("Have you ever had an allergic reaction to consuming mushrooms or other fungi?")
    ketamine_hypersensitivity: Answer = _question(
        "Have you ever had an allergic or hypersensitivity reaction to ketamine or esketamine (Spravato)?"
    )
    pulmonary_hypertension: Answer = _question(
        "Have you been diagnosed with pulmonary hypertension (high blood pressure in the lungs)?"
    )
    cardiac_hypertrophy: Answer = _question(
        "Have you been told your heart muscle is thickened or enlarged (cardiac hypertrophy, for example hypertrophic cardiomyopathy)?"
    )
    tachycardia: Answer = _question("Have you been told you have a fast heart rate at rest (tachycardia)?")
    ecg_abnormality: Answer = _question(
        "Have you been told that an ECG (heart tracing) showed an abnormality that needed follow-up?"
    )

    @model_validator(mode="after")
    def _systolic_above_diastolic(self) -> Physical:
        if self.systolic_bp is not None and self.diastolic_bp is not None and self.systolic_bp <= self.diastolic_bp:
            raise ValueError("systolic_bp (the upper number) must be higher than diastolic_bp (the lower number)")
        return self


class Needs(_Strict):
    """Support needed during the session.

    The questions follow Oregon's client information form, items (d) to (g).
    """

    medication_during_session: Answer = _question(
        "Are you currently taking any medications that might need to be consumed during the session?"
    )
    interpreter: Answer = _question("Will you need an interpreter during the session?")
    physical_assistance: Answer = _question(
        "Will you need help during the session with catheter, ostomy or toileting, moving or transfers, or a medical device?"
    )
    communication_support: Answer = _question(
        "Will you need help during the session with an augmentative and alternative communication device or an assistive listening device?"
    )


class Readiness(_Strict):
    """Skills and circumstances that help a person through a difficult session and after it."""

    grounding_skills: Answer = _question("Do you have ways to ground yourself and calm down when you feel overwhelmed?")
    self_regulation: Answer = _question("Can you usually notice and steady strong emotions without being carried away by them?")
    support_system: Answer = _question(
        "Do you have people in your life you can turn to for support in the weeks after the session?"
    )
    support_contact: Answer = _question(
        "Can you name a support contact who is willing and able to be reached during and after the session?"
    )
    stable_living: Answer = _question("Is your living situation stable at the moment (housing, no major crisis)?")
    own_intention: Answer = _question("Do you have your own reason or intention for taking part?")
    recovery_time: Answer = _question(
        "After the session, do you have time to rest and recover (the rest of the day and a night's sleep) without work or other obligations?"
    )


class Plan(_Strict):
    """This participant's part of the session plan."""

    dose_unit: Literal["mg_active_substance", "g_dried_mushrooms", "g_fresh_mushrooms", "g_truffles", "unknown"] = _question(
        "In what unit is your planned dose given: milligrams of the active substance itself, or grams of dried"
        " mushrooms, fresh mushrooms or truffles?"
    )
    dose_mg: Annotated[float | None, _NUMBER] = Field(
        default=None,
        gt=0,
        le=1000,
        description=(
            "What dose is planned for you, in milligrams of the active substance itself"
            " (mg of psilocybin, MDMA or ketamine; not grams of truffles or mushrooms)?"
        ),
    )
    dose_grams: Annotated[float | None, _NUMBER] = Field(
        default=None,
        gt=0,
        le=200,
        description=("If the dose is planned as mushrooms or truffles: how many grams of them (as weighed, dried or fresh)?"),
    )
    transport_plan: Answer = _question("Do you have a plan for getting home after the session without driving yourself?")

    facilitator_has_authority: Answer = _question(
        "Does the facilitator have supervisory, evaluative or other authority over you (for example as your employer, teacher or supervisor)?"
    )

    @field_validator("dose_grams")
    @classmethod
    def _grams_need_a_grams_unit(cls, value: float | None, info: ValidationInfo) -> float | None:
        # Grams of mushrooms or truffles are never read as milligrams of the active substance.
        if value is not None and not str(info.data.get("dose_unit", "")).startswith("g_"):
            raise ValueError(
                "grams are given, so plan.dose_unit must say what was weighed"
                " (g_dried_mushrooms, g_fresh_mushrooms or g_truffles)"
            )
        return value


class Relationship(_Strict):
    """Answered privately by each person in a duo, about the other. Never shown to the other."""

    relation_type: Literal[
        "romantic_partner",
        "friend",
        "parent_child",
        "sibling",
        "other_family",
        "employer_employee",
        "colleague",
        "other",
        "unknown",
    ] = _question("How are you related to the other participant?")
    feels_safe_with_other: Answer = _question("Do you feel safe with the other participant?")
    conflict_level: Literal["low", "moderate", "high", "unknown"] = _question(
        "How much conflict is there between you and the other participant at the moment?"
    )
    mistrust: Answer = _question("Is there mistrust between you and the other participant?")
    fear_of_other: Answer = _question("Are you afraid of the other participant?")
    violence_last_year: Answer = _question(
        "In the last year, has there been physical violence, threats or forced sexual contact between you and the other participant?"
    )
    pressure_to_take_part: Answer = _question(
        "Do you feel pressured or pushed by the other participant, or anyone else, to take part?"
    )
    mainly_to_help_or_please_other: Answer = _question("Are you taking part mainly to help or to please the other participant?")
    expects_to_look_after_other: Answer = _question("Do you expect to look after the other participant during the session?")
    theme_to_explore_alone_first: Answer = _question("Is there a very personal theme you would rather explore on your own first?")
    other_has_authority: Answer = _question(
        "Does the other participant have authority over you (as your parent, employer, supervisor or therapist)?"
    )
    agreement_touch: Answer = _question("Have you and the other participant agreed beforehand on touch during the session?")
    agreement_talking: Answer = _question(
        "Have you agreed beforehand on talking during the session (when, how much, about what)?"
    )
    agreement_check_in_signal: Answer = _question(
        "Have you agreed on a signal to check in with each other or to ask for a pause?"
    )
    agreement_primary_support: Answer = _question(
        "Have you agreed who is the primary support during the session (the facilitator, not each other)?"
    )
    agreement_sharing_afterwards: Answer = _question(
        "Have you agreed with the other participant on what each of you will and will not share with the other after the session?"
    )
    knows_other_intention: Answer = _question(
        "Do you know what the other participant's intention for the session is (whether or not it is the same as yours)?"
    )
    untold_matter_may_come_up: Answer = _question(
        "Is there something you have not yet told the other participant that may come up during or after the session?"
    )
    agreed_what_facilitator_passes_on: Answer = _question(
        "Have you agreed with the facilitator what they may and may not pass on from you to the other participant?"
    )
    needs_more_guidance_than_duo: Answer = _question(
        "Do you expect to need much more one-to-one guidance from the facilitator than a shared session allows?"
    )


class MedicationUse(_Strict):
    """Whether the person takes anything at all: an empty medication list alone cannot say "nothing"."""

    takes_any: Answer = _question(
        "Do you take any medication, supplement or other substance now, or have you taken any in the last three months?"
    )


class Medication(_Strict):
    """A medication or other substance, written as the person wrote it."""

    name: str = Field(min_length=1, max_length=200, description="The medication or substance, as you would write it.")
    dose: str | None = Field(default=None, max_length=200, description="Dose and how often, if known.")
    status: Literal["current", "stopped", "unknown"] = Field(
        default="unknown", description="Are you taking it now (current) or have you stopped?"
    )
    last_taken: Annotated[dt.date | None, _DATE] = Field(default=None, description="If stopped: the date of the last dose.")
    stopped_with_prescriber: Answer = _question(
        "If stopped: did you stop together with the prescriber (rather than on your own)?"
    )

    @field_validator("last_taken")
    @classmethod
    def _plausible_last_dose(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and value < EARLIEST_DATE:
            raise ValueError(f"a last dose is on or after {EARLIEST_DATE}")
        return value

    @model_validator(mode="after")
    def _current_has_no_last_date(self) -> Medication:
        if self.status == "current" and self.last_taken is not None:
            raise ValueError("a current medication has no last_taken date; use status 'stopped'")
        return self


PARTICIPANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
# Words a report or a view already uses for someone else: a participant called "clinician" would
# open the clinician's view, one called "pair" would read as a joint flag. Compared ignoring case.
RESERVED_PARTICIPANT_IDS = frozenset(
    {"clinician", "pair", "participant", "participants", "self", "other", "both", "all", "none", "session", "unknown"}
)


def _not_reserved(value: str) -> str:
    if value.lower() in RESERVED_PARTICIPANT_IDS:
        raise ValueError(
            f"a reserved word ({', '.join(sorted(RESERVED_PARTICIPANT_IDS))}, in any case); use a label such as A or B"
        )
    return value


ParticipantId = Annotated[str, Field(pattern=PARTICIPANT_ID_PATTERN), AfterValidator(_not_reserved)]
"""1 to 40 characters: a letter or digit, then letters, digits, ``_``, ``.`` or ``-``; not a reserved word."""


class Participant(_Strict):
    """One person's own, private intake."""

    participant_id: ParticipantId = Field(
        description="A short label for this participant within the intake (for example A or B); not a name.",
    )
    person: Person = Field(default_factory=Person)
    psychiatric: Psychiatric = Field(default_factory=Psychiatric)
    family_history: FamilyHistory = Field(default_factory=FamilyHistory)
    physical: Physical = Field(default_factory=Physical)
    needs: Needs = Field(default_factory=Needs)
    readiness: Readiness = Field(default_factory=Readiness)
    plan: Plan = Field(default_factory=Plan)
    medication_use: MedicationUse = Field(default_factory=MedicationUse)
    medications: list[Medication] = Field(
        default_factory=list,
        max_length=60,
        description="Every medication, supplement or other substance taken now or in the last three months.",
    )
    relationship: Relationship | None = Field(
        default=None, description="Duo only: your private answers about the other participant."
    )


class Intake(_Strict):
    """A complete intake: the shared session plan and one or two participants."""

    session: Session
    participants: list[Participant] = Field(min_length=1, max_length=2)

    @model_validator(mode="after")
    def _consistent_format(self) -> Intake:
        count = len(self.participants)
        if self.session.format == "duo" and count != 2:
            raise ValueError(f"a duo intake needs exactly two participants; this one has {count}")
        if self.session.format == "individual" and count != 1:
            raise ValueError(f"an individual intake has exactly one participant; this one has {count}")
        ids = [p.participant_id for p in self.participants]
        if len({i.lower() for i in ids}) != len(ids):  # "A" and "a" would make a view ambiguous
            raise ValueError("participants.1.participant_id: the two participant_id values must differ (ignoring case)")
        for index, participant in enumerate(self.participants):
            if self.session.format == "individual" and participant.relationship is not None:
                raise ValueError(f"participants.{index}.relationship: relationship questions are only asked in a duo")
        return self

    @model_validator(mode="after")
    def _last_dose_not_after_the_session(self, info: ValidationInfo) -> Intake:
        session_day = self.session.planned_date or _today(info)
        # the planned date is an answer, so it is not repeated; today is not
        what = "the planned session date" if self.session.planned_date else f"today, {session_day} (no session date is planned)"
        for index, participant in enumerate(self.participants):
            for number, medication in enumerate(participant.medications):
                if medication.last_taken is not None and medication.last_taken > session_day:
                    raise ValueError(f"participants.{index}.medications.{number}.last_taken: a last dose is not after {what}")
        return self

    @property
    def is_duo(self) -> bool:
        return self.session.format == "duo"

    def participant_relationship(self, participant: Participant) -> Relationship:
        """The relationship answers of a duo participant; all unknown when none were given."""
        return participant.relationship or Relationship()
