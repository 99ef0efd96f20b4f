"""The long-term watch (recovery-course.md, "Long-term watch (PMMA)"): where it stands
(course.long_term_place), and its writes (recovery.long_term)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recovery import course, long_term
from recovery.models import (
    Alert,
    AuditEvent,
    Clinic,
    LateCheck,
    LongTermWatch,
    Patient,
    Treatment,
    Triage,
    TriageCounts,
)
from tests import factories
from tests.helpers import NEW_YORK, TREATED_ON

S = course.Standing
FIRST_DUE = course.add_months(TREATED_ON, 2)  # 20 January 2027


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=NEW_YORK)


# Where it stands ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "answers", "standing", "due_on", "until"),
    [
        # The diary, and the month after it: nothing due yet.
        (TREATED_ON, [], S.WAITING, None, FIRST_DUE),
        (FIRST_DUE - dt.timedelta(days=1), [], S.WAITING, None, FIRST_DUE),
        # Due on its date, for two weeks; then overdue until the next due date.
        (FIRST_DUE, [], S.DUE, FIRST_DUE, FIRST_DUE + dt.timedelta(days=14)),
        (FIRST_DUE + dt.timedelta(days=13), [], S.DUE, FIRST_DUE, dt.date(2027, 2, 3)),
        (FIRST_DUE + dt.timedelta(days=14), [], S.OVERDUE, FIRST_DUE, dt.date(2027, 2, 20)),
        # The next due date replaces a missed one.
        (dt.date(2027, 2, 20), [], S.DUE, dt.date(2027, 2, 20), dt.date(2027, 3, 6)),
        # Answered no: up to date until the next; yes: answered yes, not taken back by a no.
        (FIRST_DUE, [(FIRST_DUE, False)], S.UP_TO_DATE, FIRST_DUE, dt.date(2027, 2, 20)),
        (
            dt.date(2027, 1, 25),
            [(FIRST_DUE, True), (dt.date(2027, 1, 24), False)],
            S.ANSWERED_YES,
            FIRST_DUE,
            dt.date(2027, 2, 20),
        ),
        # An answer before the due date does not answer it.
        (FIRST_DUE, [(FIRST_DUE - dt.timedelta(days=1), True)], S.DUE, FIRST_DUE, None),
        # After month 12 every three months: month 12, then 15.
        (dt.date(2027, 12, 10), [], S.OVERDUE, dt.date(2027, 11, 20), dt.date(2028, 2, 20)),
        # The five-year check-in is due, then the watch ends a last interval on.
        (dt.date(2031, 11, 20), [], S.DUE, dt.date(2031, 11, 20), dt.date(2031, 12, 4)),
        (dt.date(2032, 2, 19), [], S.OVERDUE, dt.date(2031, 11, 20), dt.date(2032, 2, 20)),
        (dt.date(2032, 2, 20), [], S.ENDED, None, None),
    ],
    ids=lambda v: str(v) if isinstance(v, (dt.date, S)) else None,
)
def test_where_the_watch_stands(
    today: dt.date,
    answers: list[tuple[dt.date, bool]],
    standing: S,
    due_on: dt.date | None,
    until: dt.date | None,
) -> None:
    place = course.long_term_place(
        TREATED_ON, today=today, answers=[course.LateAnswer(d, lump) for d, lump in answers]
    )

    assert (place.standing, place.due_on) == (standing, due_on)
    if until is not None:
        assert place.until == until


def test_a_stopped_watch_stands_stopped_whatever_is_due() -> None:
    place = course.long_term_place(TREATED_ON, today=FIRST_DUE, stopped=True)

    assert place == course.WatchPlace(S.STOPPED, None, None, None)


@given(st.dates(min_value=TREATED_ON, max_value=dt.date(2033, 1, 1)))
def test_time_alone_changes_the_standing_only_on_its_until(today: dt.date) -> None:
    place = course.long_term_place(TREATED_ON, today=today)

    if place.until is not None:
        assert place.until > today
        before = course.long_term_place(TREATED_ON, today=place.until - dt.timedelta(days=1))
        assert before.standing == place.standing
        assert course.long_term_place(TREATED_ON, today=place.until) != place
    else:
        assert place.standing is S.ENDED


@given(st.dates(min_value=TREATED_ON, max_value=dt.date(2033, 1, 1)), st.booleans())
def test_the_next_due_date_is_the_first_on_the_schedule_after_today(
    today: dt.date, answered: bool
) -> None:
    answers = [course.LateAnswer(today, lump=False)] if answered else []
    place = course.long_term_place(TREATED_ON, today=today, answers=answers)

    schedule = course.long_term_schedule([TREATED_ON])
    assert place.next_due_on == next((d for d in schedule if d > today), None)


# The writes ----------------------------------------------------------------------------


@pytest.fixture
def watch(treatment: Treatment) -> LongTermWatch:
    return LongTermWatch.objects.get(patient=treatment.patient)


def answer(
    patient: Patient, when: dt.datetime, *, lump: bool, key: uuid.UUID | None = None, **kw: object
) -> long_term.RecordedLateCheck:
    return long_term.record_late_check(
        patient=patient,
        answers=long_term.LateAnswers(lump=lump, **kw),  # type: ignore[arg-type]
        idempotency_key=key,
        entered_by=patient.user,
        at=when,
    )


def test_a_bellafill_treatment_starts_a_watch_and_another_filler_does_not(
    watch: LongTermWatch, clinic: Clinic
) -> None:
    assert watch.standing == S.WAITING
    assert watch.standing_valid_until == at(FIRST_DUE, 0)
    other = factories.create_patient(clinic=clinic, name="Cy Other")
    factories.create_treatment(patient=other, treated_on=TREATED_ON, product_code="dermal-filler")

    assert not LongTermWatch.objects.filter(patient=other).exists()


def test_a_new_treatment_restarts_the_clock_and_a_stopped_watch(
    patient: Patient, watch: LongTermWatch
) -> None:
    long_term.stop_watch(patient=patient, by=patient.user, at=at(FIRST_DUE), ip_address=None)
    later = factories.create_treatment(patient=patient, treated_on=dt.date(2027, 3, 1))

    watch.refresh_from_db()
    assert (watch.treatment, watch.stopped_at, watch.standing) == (later, None, S.WAITING)
    # Another filler in between keeps the Bellafill clock.
    factories.create_treatment(
        patient=patient, treated_on=dt.date(2027, 4, 1), product_code="dermal-filler"
    )
    watch.refresh_from_db()
    assert watch.treatment == later


def test_no_long_term_check_in_during_the_diary(patient: Patient, watch: LongTermWatch) -> None:
    with pytest.raises(long_term.LateCheckRefused, match="start after your daily diary"):
        answer(patient, at(TREATED_ON + dt.timedelta(days=30)), lump=False)
    assert not LateCheck.objects.exists()


def test_answered_no_is_up_to_date(patient: Patient, watch: LongTermWatch) -> None:
    check = answer(patient, at(FIRST_DUE), lump=False, context=frozenset({"recent_illness"}))

    watch.refresh_from_db()
    assert (watch.standing, watch.due_on) == (S.UP_TO_DATE, FIRST_DUE)
    assert check.check.context() == ["recent_illness"]
    assert not Alert.objects.exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LATE_CHECK_CREATED).count() == 1


def test_a_late_lump_opens_a_contact_clinic_alert_with_its_reason(
    patient: Patient, watch: LongTermWatch, treatment: Treatment
) -> None:
    recorded = answer(patient, at(FIRST_DUE), lump=True, note="A hard bump on my left cheek")

    alert = Alert.objects.get()
    assert (alert.level, alert.reasons) == ("contact_clinic", [course.LATE_LUMP])
    assert alert.late_check == recorded.check
    assert alert.patient_note == "A hard bump on my left cheek"
    treatment.refresh_from_db()
    assert treatment.triage == Triage.CONTACT_CLINIC
    counts = TriageCounts.objects.get(clinic=treatment.clinic)
    assert counts.by_standing() == {"due": 0, "overdue": 0, "answered_yes": 1}
    assert counts.contact_clinic == 1


def test_a_replay_saves_nothing_more_and_other_answers_are_refused(
    patient: Patient, watch: LongTermWatch, second_patient: Patient
) -> None:
    key = uuid.uuid4()
    first = answer(patient, at(FIRST_DUE), lump=True, key=key)

    again = answer(patient, at(FIRST_DUE, 13), lump=True, key=key)
    assert again.replayed and again.check == first.check
    with pytest.raises(long_term.LateCheckConflict):
        answer(patient, at(FIRST_DUE, 13), lump=False, key=key)
    assert LateCheck.objects.count() == 1
    assert Alert.objects.count() == 1


def test_unknown_questions_and_a_stopped_watch_are_refused(
    patient: Patient, watch: LongTermWatch
) -> None:
    with pytest.raises(long_term.LateCheckRefused, match="Unknown question"):
        answer(patient, at(FIRST_DUE), lump=False, context=frozenset({"tattoo"}))
    long_term.stop_watch(patient=patient, by=patient.user, at=at(FIRST_DUE), ip_address=None)
    with pytest.raises(long_term.LateCheckRefused, match="stopped"):
        answer(patient, at(FIRST_DUE), lump=True)
    assert not LateCheck.objects.exists()
    assert not Alert.objects.exists()


def test_stopping_and_starting_again_is_audited_once_each(
    patient: Patient, watch: LongTermWatch
) -> None:
    for _ in range(2):
        long_term.stop_watch(patient=patient, by=patient.user, at=at(FIRST_DUE), ip_address=None)
    watch.refresh_from_db()
    assert watch.standing == S.STOPPED and watch.stopped_by == patient.user
    long_term.resume_watch(patient=patient, by=patient.user, at=at(FIRST_DUE), ip_address=None)
    watch.refresh_from_db()
    assert watch.standing == S.DUE

    actions = AuditEvent.objects.filter(patient=patient).values_list("action", flat=True)
    assert list(actions).count(AuditEvent.Action.LONG_TERM_STOPPED) == 1
    assert list(actions).count(AuditEvent.Action.LONG_TERM_RESUMED) == 1


def test_the_sweep_moves_watches_as_time_passes_and_keeps_the_counts(
    patient: Patient, watch: LongTermWatch
) -> None:
    assert long_term.sweep_watches(now=at(FIRST_DUE, 0) - dt.timedelta(seconds=1)) == 0
    assert long_term.sweep_watches(now=at(FIRST_DUE, 0)) == 1
    watch.refresh_from_db()
    assert watch.standing == S.DUE
    assert TriageCounts.objects.get(clinic=watch.clinic).long_term_due == 1

    long_term.sweep_watches(now=at(FIRST_DUE + dt.timedelta(days=14), 0))
    watch.refresh_from_db()
    counts = TriageCounts.objects.get(clinic=watch.clinic)
    assert watch.standing == S.OVERDUE
    assert (counts.long_term_due, counts.long_term_overdue) == (0, 1)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_lumps_sent_at_once_open_one_alert_and_count_once(
    patient: Patient, watch: LongTermWatch, treatment: Treatment
) -> None:
    """Two phones answering yes at once: each waits for the treatment's lock, then reads
    the open alert (and the watch) after it; one alert, one standing, kept counts."""
    from tests.test_concurrency import race  # noqa: PLC0415 - its fixtures stay there

    when = at(FIRST_DUE)
    results = race(
        treatment,
        [
            ("phone", lambda: answer(patient, when, lump=True, key=uuid.uuid4())),
            ("laptop", lambda: answer(patient, when, lump=True, key=uuid.uuid4())),
        ],
    )

    assert all(isinstance(r, long_term.RecordedLateCheck) for r in results.values() if r)
    assert LateCheck.objects.count() == 2
    alert = Alert.objects.get()
    assert alert.reasons == [course.LATE_LUMP]
    counts = TriageCounts.objects.get(clinic=treatment.clinic)
    assert (counts.long_term_answered_yes, counts.contact_clinic) == (1, 1)
