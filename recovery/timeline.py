"""A patient as the clinic reads them: the read model of the patient's page (the timeline).

`timeline_of` takes a patient the clinician may see (access.patient_for_clinician) and
reads the rest through them: their treatments with the checklist, their alerts, and the
current treatment's diary, each check-in with its earlier versions and what each one
changed, in words. A fixed number of queries however long the diary (a lazy fetch is a
bug, FETCH_RAISE), and the dates written here once per row rather than by the template's
filters, which cost more than the rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import FETCH_RAISE
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR

from recovery import access, charts, checkins, course, triage
from recovery.alerts import AlertPanel
from recovery.charts import Chart
from recovery.guidance import (
    CLINIC_RED_FLAG_WORDS,
    CONTRAINDICATION_WORDS,
    LATE_ANSWER_WORDS,
    LONG_TERM_CONTEXT_WORDS,
    LONG_TERM_MARK_WORDS,
    STANDING_WORDS,
    STATUS_WORDS,
    SYMPTOM_LABELS,
    clinic_reason_words,
    rating_word,
)
from recovery.models import (
    Alert,
    CheckIn,
    CheckInRevision,
    LateCheck,
    LongTermWatch,
    Patient,
    Screening,
    Treatment,
    Triage,
    User,
    WarningSignReport,
)


def is_clinician(user: User | None) -> bool:
    """Whether `user` is clinic staff; needs `clinician` selected with the user."""
    return user is not None and hasattr(user, "clinician")


def day_text(day: dt.date) -> str:
    """ "Wed 25 Nov": the template's date:"D j M", without its per-call cost (a timeline
    writes a date on every row)."""
    return f"{WEEKDAYS_ABBR[day.weekday()]} {day.day} {MONTHS_3[day.month].title()}"


def time_text(at: dt.datetime, zone: ZoneInfo) -> str:
    """ "25 Nov, 14:02 EST" in `zone`: what the template's zoned:"j M, H:i" writes there."""
    local = at.astimezone(zone)
    return f"{local.day} {MONTHS_3[local.month].title()}, {local:%H:%M} {local.tzname()}"


def status_words(status: str) -> str:
    return STATUS_WORDS[course.Status(status)].clinic


# The check-in history ----------------------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    """An earlier version of a day's check-in, and what the next version changed."""

    recorded_at: dt.datetime
    entered_by: User | None
    entered_by_clinic: bool
    replaced_at: dt.datetime
    replaced_by: User | None
    replaced_by_clinic: bool
    changes: tuple[str, ...]


@dataclass(frozen=True)
class CheckInRow:
    check_in: CheckIn
    day: str  # its date, "Wed 25 Nov"
    sent: str  # when it was last sent, in the clinic's time zone
    ratings: list[tuple[str, int | None]]  # (symptom, rating), drawn by ratings.rating_cells
    red_flags: tuple[str, ...]
    # Warning signs answered yes in an earlier version of the day, no longer in the latest.
    withdrawn_red_flags: tuple[str, ...]
    status: str
    reasons: tuple[str, ...]
    entered_by_clinic: bool
    revisions: tuple[Revision, ...]


def _snapshot(check_in: CheckIn) -> dict[str, object]:
    return {
        **{s: getattr(check_in, s) for s in course.SYMPTOMS},
        "red_flags": list(check_in.red_flags),
        "note": check_in.note,
        "status": check_in.status,
    }


def _changes(before: Mapping[str, object], after: Mapping[str, object]) -> tuple[str, ...]:
    """What changed from one version of a check-in to the next, in words."""
    said = []
    for symptom in course.SYMPTOMS:
        old, new = before.get(symptom), after.get(symptom)
        if old != new:
            said.append(f"{SYMPTOM_LABELS[symptom]}: {rating_word(old)} → {rating_word(new)}")
    old_flags = set(before.get("red_flags") or [])  # type: ignore[call-overload]
    new_flags = set(after.get("red_flags") or [])  # type: ignore[call-overload]
    for flag in course.RED_FLAGS:
        if flag in new_flags - old_flags:
            said.append(f"Warning sign added: {CLINIC_RED_FLAG_WORDS[flag]}")
        elif flag in old_flags - new_flags:
            said.append(f"Warning sign withdrawn: {CLINIC_RED_FLAG_WORDS[flag]}")
    old_note, new_note = before.get("note") or "", after.get("note") or ""
    if old_note != new_note:
        said.append(f"Note changed; it said: “{old_note}”" if old_note else "Note added")
    old_status, new_status = str(before.get("status")), str(after.get("status"))
    if old_status != new_status:
        said.append(f"Status: {status_words(old_status)} → {status_words(new_status)}")
    return tuple(said) or ("Sent again with the same answers",)


def _check_in_row(
    check_in: CheckIn, revisions: list[CheckInRevision], *, zone: ZoneInfo
) -> CheckInRow:
    """The check-in and its earlier versions, oldest first."""
    versions: list[tuple[Mapping[str, object], User | None]] = [
        ({**r.answers, "status": r.status}, r.entered_by) for r in revisions
    ]
    versions.append((_snapshot(check_in), check_in.entered_by))
    history = tuple(
        Revision(
            recorded_at=r.recorded_at,
            entered_by=r.entered_by,
            entered_by_clinic=is_clinician(r.entered_by),
            replaced_at=r.replaced_at,
            replaced_by=versions[i + 1][1],
            replaced_by_clinic=is_clinician(versions[i + 1][1]),
            changes=_changes(versions[i][0], versions[i + 1][0]),
        )
        for i, r in enumerate(revisions)
    )
    earlier_flags = {f for r in revisions for f in r.answers.get("red_flags") or []}
    return CheckInRow(
        check_in=check_in,
        day=day_text(check_in.local_date),
        sent=time_text(check_in.updated_at, zone),
        ratings=check_in.ratings(),
        red_flags=tuple(
            CLINIC_RED_FLAG_WORDS[f] for f in course.RED_FLAGS if f in check_in.red_flags
        ),
        withdrawn_red_flags=tuple(
            CLINIC_RED_FLAG_WORDS[f]
            for f in course.RED_FLAGS
            if f in earlier_flags and f not in check_in.red_flags
        ),
        status=status_words(check_in.status),
        reasons=tuple(clinic_reason_words(r) for r in check_in.reasons),
        entered_by_clinic=is_clinician(check_in.entered_by),
        revisions=history,
    )


def _check_ins(treatment: Treatment) -> list[tuple[CheckIn, list[CheckInRevision]]]:
    """The treatment's check-ins in date order, each with its edits (a lazy fetch is a bug).

    Three queries: the check-ins, their edits (grouped here: prefetch_related's per-row
    querysets cost more than the rows), and the few people who entered them, once each
    rather than once a row.
    """
    check_ins = list(
        CheckIn.objects.filter(treatment=treatment).order_by("local_date").fetch_mode(FETCH_RAISE)
    )
    edits = list(
        CheckInRevision.objects.filter(check_in__treatment=treatment)
        .order_by("replaced_at", "pk")
        .fetch_mode(FETCH_RAISE)
    )
    entered_by = {c.entered_by_id for c in check_ins} | {e.entered_by_id for e in edits}
    people = User.objects.select_related("clinician").in_bulk(entered_by - {None})
    revisions: dict[int, list[CheckInRevision]] = defaultdict(list)
    for edit in edits:
        edit.entered_by = people.get(edit.entered_by_id)
        revisions[edit.check_in_id].append(edit)
    for check_in in check_ins:
        check_in.entered_by = people.get(check_in.entered_by_id)
    return [(check_in, revisions[check_in.pk]) for check_in in check_ins]


# The treatments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TreatmentRow:
    treatment: Treatment
    is_current: bool
    screening: Screening | None
    contraindications: tuple[str, ...]


def _treatment_row(treatment: Treatment, current: Treatment | None) -> TreatmentRow:
    screening: Screening | None = getattr(treatment, "screening", None)
    return TreatmentRow(
        treatment=treatment,
        is_current=current is not None and treatment.pk == current.pk,
        screening=screening,
        contraindications=tuple(
            CONTRAINDICATION_WORDS[code].recorded
            for code in course.CONTRAINDICATIONS
            if getattr(screening, code, False)
        ),
    )


def _triage_now(treatment: Treatment, patient: Patient, *, now: dt.datetime) -> Triage:
    """The treatment's place in the triage order, even if the sweep has not moved it yet."""
    if treatment.triage_valid_until is None or treatment.triage_valid_until > now:
        return Triage(treatment.triage)
    treatment.patient = patient
    return triage.place_of(treatment, now=now).triage


# The page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Diary:
    """The current treatment's diary, as the page shows it."""

    treatment: Treatment
    triage: Triage  # its place now, even if the sweep has not moved it yet
    day: int  # the patient's day number today
    check_in_rows: list[CheckInRow]
    # Warning signs that reached the clinic without a check-in (recovery/alerts.py), each
    # with the signs in words.
    warning_sign_reports: list[tuple[WarningSignReport, list[str]]]
    charts: list[Chart]
    can_check_in: bool  # a day the clinic can fill in from a call

    @property
    def diary_days(self) -> int:
        return self.treatment.product.diary_days

    @property
    def triage_slug(self) -> str:
        return self.triage.name.lower()

    @property
    def red_flag_days(self) -> list[CheckInRow]:
        return [r for r in self.check_in_rows if r.red_flags or r.withdrawn_red_flags]

    @property
    def note_days(self) -> list[CheckInRow]:
        return [r for r in self.check_in_rows if r.check_in.note]


@dataclass(frozen=True)
class LateCheckRow:
    local_date: dt.date
    due_on: dt.date | None
    lump: bool
    answer: str  # in words (guidance.LATE_ANSWER_WORDS)
    context: list[str]  # the context questions answered yes, in the clinic's words
    note: str
    created_at: str  # in the clinic's zone


@dataclass(frozen=True)
class LongTerm:
    """The long-term watch as the timeline shows it: where it stands, in words; its
    years-long axis; its check-ins, the latest first."""

    watch: LongTermWatch
    treated_on: dt.date
    standing: str
    stopped_at: str | None
    stopped_by: str
    marks: list[charts.LongTermMark]
    years: list[charts.LongTermMark]  # the axis's labels: 0y … 5y
    rows: list[LateCheckRow]
    mark_words: dict[str, str]


def _long_term(patient: Patient, *, today: dt.date, clinic_zone: ZoneInfo) -> LongTerm | None:
    watch = (
        LongTermWatch.objects.select_related("treatment__product", "stopped_by")
        .filter(patient=patient)
        .fetch_mode(FETCH_RAISE)
        .first()
    )
    if watch is None or watch.treatment is None:
        return None
    checks = list(
        LateCheck.objects.filter(watch=watch)
        .order_by("-local_date", "-created_at", "-pk")
        .fetch_mode(FETCH_RAISE)
    )
    treated_on = watch.treatment.treated_on
    by = watch.stopped_by
    return LongTerm(
        watch=watch,
        treated_on=treated_on,
        standing=STANDING_WORDS[course.Standing(watch.standing)],
        stopped_at=time_text(watch.stopped_at, clinic_zone) if watch.stopped_at else None,
        stopped_by=(by.get_full_name() or by.email or by.username) if by else "",
        marks=charts.long_term_marks(
            treated_on,
            due_dates=course.long_term_schedule([treated_on]),
            answers=[(c.local_date, c.lump) for c in checks],
            today=today,
            words=LONG_TERM_MARK_WORDS,
        ),
        years=[
            charts.LongTermMark(
                charts.long_term_x(treated_on, course.add_months(treated_on, 12 * n)),
                "year",
                f"{n}y",
            )
            for n in range(charts.LONG_TERM_YEARS + 1)
        ],
        rows=[
            LateCheckRow(
                local_date=c.local_date,
                due_on=c.due_on,
                lump=c.lump,
                answer=LATE_ANSWER_WORDS[c.lump],
                context=[
                    LONG_TERM_CONTEXT_WORDS[code][1]
                    for code in course.LONG_TERM_CONTEXT
                    if getattr(c, code)
                ],
                note=c.note,
                created_at=time_text(c.created_at, clinic_zone),
            )
            for c in checks
        ],
        mark_words=LONG_TERM_MARK_WORDS,
    )


@dataclass(frozen=True)
class Timeline:
    patient: Patient
    age: int
    treatments: list[TreatmentRow]  # the latest first
    alerts: list[AlertPanel]  # every alert, the latest first
    diary: Diary | None  # None before any treatment is recorded
    long_term: LongTerm | None = None  # None without a watched (PMMA) treatment

    @property
    def open_alerts(self) -> list[AlertPanel]:
        return [panel for panel in self.alerts if panel.alert.is_open]


def timeline_of(
    patient: Patient, *, today: dt.date, now: dt.datetime, clinic_zone: ZoneInfo
) -> Timeline:
    """Everything the clinic's page shows of `patient` (their date `today`); times are
    written in the clinic's zone."""
    treatments = list(
        patient.treatments.select_related(
            "product", "latest_check_in", "screening__went_ahead_by"
        ).order_by("-treated_on", "-id")
    )
    current = access.current_of(treatments, today=today)
    by_id = {t.pk: t for t in treatments}
    all_alerts = list(
        Alert.objects.filter(treatment__patient=patient)
        .select_related("check_in", "report", "late_check", "acknowledged_by", "resolved_by")
        .order_by("-opened_at", "-pk")
        .fetch_mode(FETCH_RAISE)
    )
    for alert in all_alerts:
        alert.treatment = by_id[alert.treatment_id]
    return Timeline(
        patient=patient,
        age=course.age_on(patient.date_of_birth, today),
        treatments=[_treatment_row(t, current) for t in treatments],
        alerts=[AlertPanel.of(a) for a in all_alerts],
        diary=(
            None
            if current is None
            else _diary(current, patient, today=today, now=now, clinic_zone=clinic_zone)
        ),
        long_term=_long_term(patient, today=today, clinic_zone=clinic_zone),
    )


def _diary(
    treatment: Treatment,
    patient: Patient,
    *,
    today: dt.date,
    now: dt.datetime,
    clinic_zone: ZoneInfo,
) -> Diary:
    with_edits = _check_ins(treatment)
    rows = [check_in for check_in, _ in with_edits]
    return Diary(
        treatment=treatment,
        triage=_triage_now(treatment, patient, now=now),
        day=treatment.day_on(today),
        check_in_rows=[_check_in_row(c, edits, zone=clinic_zone) for c, edits in with_edits],
        warning_sign_reports=[
            (report, [CLINIC_RED_FLAG_WORDS[f] for f in report.red_flags])
            for report in treatment.warning_sign_reports.order_by("received_at")
        ],
        charts=charts.symptom_charts(
            ratings_by_day=[(c.day, dict(c.ratings())) for c in rows],
            values=treatment.product.course,
            today=treatment.day_on(today),
        ),
        can_check_in=bool(checkins.open_dates(treatment=treatment, today=today)),
    )
