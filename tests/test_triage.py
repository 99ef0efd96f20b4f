"""The clinic's triage order, and the missed check-in rule it shares with reminders."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from recovery import alerts, course, triage
from recovery.models import Alert, Patient, Treatment, Triage, TriageCounts, User
from tests import factories
from tests.helpers import NEW_YORK, TREATED_ON, at_local

T = dt.date(2026, 11, 20)


def d(n: int) -> dt.date:
    return T + dt.timedelta(days=n)


@pytest.mark.parametrize(
    ("today", "latest", "missed"),
    [
        pytest.param(d(0), None, False, id="day 0: nothing is due yet"),
        pytest.param(d(1), None, False, id="day 1: only one diary day has passed"),
        pytest.param(d(2), None, True, id="day 2 with no check-in on day 0 or day 1"),
        pytest.param(d(2), d(0), False, id="day 2 with a check-in on day 0"),
        pytest.param(d(5), d(3), False, id="checked in the day before yesterday"),
        pytest.param(d(5), d(4), False, id="checked in yesterday"),
        pytest.param(d(5), d(5), False, id="checked in today"),
        pytest.param(d(5), d(2), True, id="nothing yesterday or the day before"),
        pytest.param(d(30), d(27), True, id="day 30, the last diary day"),
        pytest.param(d(31), d(27), False, id="after the diary nothing is missed"),
        pytest.param(d(-1), None, False, id="before the treatment"),
    ],
)
def test_missed_check_in(today: dt.date, latest: dt.date | None, missed: bool) -> None:
    assert course.missed_check_in(treated_on=T, latest=latest, today=today) is missed
    if not missed and d(0) <= today <= d(30) and (latest is None or latest <= today):
        # The day it would start being missed, if no check-in comes.
        start = course.missed_from(treated_on=T, latest=latest)
        assert course.missed_check_in(treated_on=T, latest=latest, today=start)
        assert not course.missed_check_in(
            treated_on=T, latest=latest, today=start - dt.timedelta(days=1)
        )


@pytest.mark.django_db
def test_a_new_treatment_is_on_track_until_two_days_pass_without_a_check_in(
    patient: Patient,
) -> None:
    with at_local(TREATED_ON, hour=10):
        treatment = factories.create_treatment(patient=patient, treated_on=TREATED_ON)
    assert treatment.triage == Triage.ON_TRACK
    assert treatment.triage_valid_until == dt.datetime.combine(d(2), dt.time(), tzinfo=NEW_YORK)
    with at_local(d(2), hour=0):
        assert triage.sweep_triage(now=timezone.now()) == 1
    treatment.refresh_from_db()
    assert treatment.triage == Triage.MISSED_CHECK_IN


@pytest.mark.django_db
def test_a_check_in_clears_missed_and_sets_watch(treatment: Treatment) -> None:
    with at_local(d(9), hour=10):
        triage.sweep_triage(now=timezone.now())
        treatment.refresh_from_db()
        assert treatment.triage == Triage.MISSED_CHECK_IN
        factories.create_check_in(treatment=treatment, local_date=d(9), swelling=2)
    treatment.refresh_from_db()
    assert treatment.triage == Triage.WATCH  # slow to improve after day 7


@pytest.mark.django_db
def test_an_open_alert_ranks_first_and_stays_until_resolved(treatment: Treatment) -> None:
    with at_local(d(5), hour=10):
        factories.create_check_in(
            treatment=treatment, local_date=d(5), red_flags=frozenset({"vision"})
        )
        factories.create_check_in(treatment=treatment, local_date=d(5))  # all fine now
    treatment.refresh_from_db()
    assert treatment.triage == Triage.URGENT
    assert treatment.open_alert is not None
    with at_local(d(40), hour=10):
        triage.sweep_triage(now=timezone.now())  # no passing of time moves an alert
    treatment.refresh_from_db()
    assert treatment.triage == Triage.URGENT


@pytest.mark.django_db
def test_the_diary_finishes_at_the_patients_midnight_after_day_30(treatment: Treatment) -> None:
    with at_local(d(30), hour=23):
        factories.create_check_in(treatment=treatment, local_date=d(30))
        assert triage.sweep_triage(now=timezone.now()) == 0
    with at_local(d(31), hour=0):
        triage.sweep_triage(now=timezone.now())
    treatment.refresh_from_db()
    assert treatment.triage == Triage.DIARY_FINISHED
    assert treatment.triage_valid_until is None


@pytest.mark.django_db
def test_a_returning_patients_earlier_treatment_is_superseded(
    patient: Patient, treatment: Treatment
) -> None:
    later = factories.create_treatment(patient=patient, treated_on=d(40))
    treatment.refresh_from_db()
    assert treatment.superseded and not later.superseded
    assert later.session_number == 2
    assert later.clinic == patient.clinic


@pytest.mark.django_db
def test_after_its_alert_is_resolved_a_worrying_check_in_still_reads_watch(
    treatment: Treatment, clinician: object
) -> None:
    from recovery import alerts
    from recovery.models import Alert

    with at_local(d(5), hour=10):
        factories.create_check_in(treatment=treatment, local_date=d(5), swelling=3)
        treatment.refresh_from_db()
        assert treatment.open_alert is not None
        alerts.resolve_alert(
            alert=treatment.open_alert,
            seen_version=treatment.open_alert.version,
            by=clinician,  # type: ignore[arg-type]
            outcome=Alert.Outcome.ADVISED_AT_HOME,
            note="Called; advised cold compresses.",
            at=timezone.now(),
            ip_address=None,
        )
    treatment.refresh_from_db()
    assert treatment.open_alert is None
    assert treatment.triage == Triage.WATCH


@pytest.mark.django_db
def test_an_open_alert_keeps_an_earlier_treatment_on_the_dashboard_until_resolved(
    patient: Patient, treatment: Treatment, clinician: object
) -> None:
    from recovery import alerts
    from recovery.models import Alert

    with at_local(d(5), hour=10):
        factories.create_check_in(
            treatment=treatment, local_date=d(5), red_flags=frozenset({"allergy"})
        )
        factories.create_treatment(patient=patient, treated_on=d(5))
        treatment.refresh_from_db()
        assert not treatment.superseded  # its urgent alert is still open
        alerts.resolve_alert(
            alert=(alert := Alert.objects.get()),
            seen_version=alert.version,
            by=clinician,  # type: ignore[arg-type]
            outcome=Alert.Outcome.SEEN_IN_CLINIC,
            note="Seen the same day.",
            at=timezone.now(),
            ip_address=None,
        )
    treatment.refresh_from_db()
    assert treatment.superseded


# The clinic's counts at each level, kept by the write functions --------------------------


def kept(clinic_id: int) -> dict[str, int]:
    by_level = TriageCounts.objects.get(clinic_id=clinic_id).by_level()
    return {level.name.lower(): by_level[level] for level in Triage}


def counted(clinic_id: int) -> dict[str, int]:
    """What a count of the clinic's rows says (what the kept counts must always say)."""
    by_level = triage.counts_of(Treatment.objects.filter(clinic_id=clinic_id, superseded=False))
    return {level.name.lower(): by_level.get(level, 0) for level in Triage}


def only(**levels: int) -> dict[str, int]:
    return {level.name.lower(): levels.get(level.name.lower(), 0) for level in Triage}


@pytest.mark.django_db
def test_the_counts_follow_every_write_that_moves_a_treatment(
    patient: Patient, second_patient: Patient, clinician: User
) -> None:
    clinic_id = patient.clinic_id
    with at_local(d(0), hour=10):
        first = factories.create_treatment(patient=patient, treated_on=d(0))
        factories.create_treatment(patient=second_patient, treated_on=d(0))
    assert kept(clinic_id) == counted(clinic_id) == only(on_track=2)

    with at_local(d(2), hour=0):  # two days without a check-in
        triage.sweep_triage(now=timezone.now())
    assert kept(clinic_id) == counted(clinic_id) == only(missed_check_in=2)

    with at_local(d(2), hour=10):
        factories.create_check_in(treatment=first, local_date=d(2), red_flags=frozenset({"vision"}))
    assert kept(clinic_id) == counted(clinic_id) == only(urgent=1, missed_check_in=1)

    with at_local(d(3), hour=10):  # the next session, while the alert on the first is open
        second = factories.create_treatment(patient=patient, treated_on=d(3))
    assert kept(clinic_id) == counted(clinic_id) == only(urgent=1, on_track=1, missed_check_in=1)

    alert = Alert.objects.get(treatment=first)
    with at_local(d(3), hour=10):
        alerts.resolve_alert(
            alert=alert,
            seen_version=alert.version,
            by=clinician,
            outcome=Alert.Outcome.SEEN_IN_CLINIC,
            note="Seen; fine.",
            at=timezone.now(),
            ip_address=None,
        )
    # The first treatment leaves the dashboard with its alert.
    assert kept(clinic_id) == counted(clinic_id) == only(on_track=1, missed_check_in=1)

    second.delete()  # as the admin deletes it
    assert kept(clinic_id) == counted(clinic_id) == only(missed_check_in=1)
    second_patient.treatments.all().delete()
    assert kept(clinic_id) == counted(clinic_id) == only()


@pytest.mark.django_db
def test_a_check_in_that_keeps_the_level_leaves_the_counts_alone(treatment: Treatment) -> None:
    with at_local(d(1), hour=10):
        factories.create_check_in(treatment=treatment, local_date=d(1))
    counts = TriageCounts.objects.get(clinic_id=treatment.clinic_id)
    with at_local(d(2), hour=10):
        factories.create_check_in(treatment=treatment, local_date=d(2))
    assert TriageCounts.objects.get(clinic_id=treatment.clinic_id).counted_at == counts.counted_at
    assert kept(treatment.clinic_id) == counted(treatment.clinic_id) == only(on_track=1)


@pytest.mark.django_db
def test_counts_for_a_clinic_never_counted_are_counted_once(treatment: Treatment) -> None:
    TriageCounts.objects.all().delete()

    counts = triage.counts_for(treatment.clinic)

    assert counts.on_track == 1
    assert TriageCounts.objects.count() == 1
