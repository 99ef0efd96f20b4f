"""record_check_in: the one write path of a check-in (patient and clinic views call it)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from recovery import checkins, course
from recovery.models import (
    Alert,
    AuditEvent,
    CheckIn,
    CheckInRevision,
    Treatment,
    WarningSignReport,
)
from tests import factories
from tests.helpers import AssertMaxQueries, day

pytestmark = pytest.mark.django_db


def answers(red_flags: frozenset[str] = frozenset(), **ratings: int | None) -> course.Answers:
    return course.Answers(
        ratings={s: ratings.get(s, 0) for s in course.SYMPTOMS}, red_flags=red_flags
    )


def record(
    treatment: Treatment,
    on: dt.date,
    given: course.Answers,
    *,
    today: dt.date | None = None,
    key: uuid.UUID | None = None,
) -> checkins.RecordedCheckIn:
    return checkins.record_check_in(
        treatment=treatment,
        local_date=on,
        answers=given,
        idempotency_key=key,
        entered_by=treatment.patient.user,
        today=today or on,
        at=timezone.now(),
    )


def test_a_check_in_is_assessed_against_the_previous_one(treatment: Treatment) -> None:
    record(treatment, day(15), answers(lumps=1))
    second = record(treatment, day(16), answers(lumps=1)).check_in
    assert (second.status, second.reasons) == ("contact_clinic", ["persisting:lumps"])
    assert second.day == 16


def test_replacing_todays_check_in_keeps_the_old_answers(treatment: Treatment) -> None:
    first = record(treatment, day(5), answers(swelling=2)).check_in
    again = record(treatment, day(5), answers(swelling=1)).check_in
    assert again.pk == first.pk
    assert CheckIn.objects.get().swelling == 1
    revision = CheckInRevision.objects.get()
    assert revision.answers["swelling"] == 2
    assert list(
        AuditEvent.objects.filter(patient=treatment.patient)
        .order_by("at", "id")
        .values_list("action", flat=True)
    )[-2:] == ["check_in.created", "check_in.replaced"]


def test_a_replayed_submission_changes_nothing(treatment: Treatment) -> None:
    key = uuid.uuid4()
    first = record(treatment, day(5), answers(swelling=2), key=key)
    replay = record(treatment, day(5), answers(swelling=2), key=key)
    assert replay.replayed and not first.replayed
    assert replay.check_in.pk == first.check_in.pk
    assert CheckIn.objects.get().swelling == 2
    assert not CheckInRevision.objects.exists()


def test_a_key_replayed_with_other_answers_is_refused_and_changes_nothing(
    treatment: Treatment,
) -> None:
    """Fails on the old code, which answered the replay with the first check-in."""
    key = uuid.uuid4()
    record(treatment, day(5), answers(swelling=2), key=key)
    for on, other in ((day(5), answers(swelling=3)), (day(4), answers(swelling=2))):
        with pytest.raises(checkins.SubmissionConflict, match="already sent with other answers"):
            record(treatment, on, other, key=key, today=day(5))
    assert CheckIn.objects.get().swelling == 2
    assert not CheckInRevision.objects.exists()
    assert not Alert.objects.exists()
    assert not WarningSignReport.objects.exists()


def test_a_key_replayed_with_a_new_warning_sign_is_refused_but_raises_the_alert(
    treatment: Treatment,
) -> None:
    key = uuid.uuid4()
    record(treatment, day(5), answers(swelling=3), key=key)  # severe: contact clinic
    alert = Alert.objects.get()
    assert alert.level == "contact_clinic"

    with pytest.raises(checkins.SubmissionConflict) as refused:
        record(treatment, day(5), answers(swelling=3, red_flags=frozenset({"vision"})), key=key)

    assert "Your clinic has been told" in str(refused.value)
    assert CheckIn.objects.get().red_flags == []  # the check-in is as it was
    report = WarningSignReport.objects.get()
    assert (report.red_flags, report.idempotency_key) == (["vision"], None)
    alert.refresh_from_db()
    assert (alert.level, alert.report, alert.version) == ("urgent", report, 2)
    assert alert.reasons == ["severe:swelling", "red_flag:vision"]


def test_a_replay_of_a_replaced_submission_does_not_undo_the_replacement(
    treatment: Treatment,
) -> None:
    old_key = uuid.uuid4()
    record(treatment, day(5), answers(swelling=2), key=old_key)
    record(treatment, day(5), answers(swelling=1), key=uuid.uuid4())
    replay = record(treatment, day(5), answers(swelling=2), key=old_key)
    assert replay.replayed
    assert CheckIn.objects.get().swelling == 1


def test_another_patients_key_is_refused(treatment: Treatment, second_patient: object) -> None:
    key = uuid.uuid4()
    record(treatment, day(5), answers(), key=key)
    other = Treatment.objects.exclude(pk=treatment.pk).get()
    with pytest.raises(checkins.CheckInRefused):
        record(other, day(5), answers(), key=key)
    assert CheckIn.objects.count() == 1


def test_red_flags_alone_are_enough_and_keep_the_days_ratings(treatment: Treatment) -> None:
    record(treatment, day(5), answers(swelling=2, bruising=1))
    unrated = course.Answers(
        ratings=dict.fromkeys(course.SYMPTOMS), red_flags=frozenset({"severe_pain"})
    )
    check_in = record(treatment, day(5), unrated).check_in
    assert check_in.status == "urgent"
    assert (check_in.swelling, check_in.bruising, check_in.lumps) == (2, 1, 0)


def test_without_a_red_flag_every_symptom_must_be_rated(treatment: Treatment) -> None:
    with pytest.raises(checkins.CheckInRefused, match="rate every symptom"):
        record(treatment, day(5), course.Answers(ratings=dict.fromkeys(course.SYMPTOMS)))
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize(
    ("ratings", "red_flags"),
    [({"swelling": 4}, frozenset()), ({"swelling": -1}, frozenset()), ({}, frozenset({"fever"}))],
    ids=["rating above severe", "negative rating", "unknown red flag"],
)
def test_out_of_range_answers_are_refused(
    treatment: Treatment, ratings: dict[str, int], red_flags: frozenset[str]
) -> None:
    with pytest.raises(checkins.CheckInRefused):
        record(treatment, day(5), answers(red_flags=red_flags, **ratings))
    assert not CheckIn.objects.exists()


def test_an_unrated_previous_check_in_compares_with_the_latest_rating_before_it(
    treatment: Treatment,
) -> None:
    record(treatment, day(15), answers(lumps=1))
    unrated = course.Answers(
        ratings=dict.fromkeys(course.SYMPTOMS), red_flags=frozenset({"infection"})
    )
    record(treatment, day(16), unrated)
    later = record(treatment, day(17), answers(lumps=1)).check_in
    assert later.reasons == ["persisting:lumps"]


def test_filling_in_yesterday_reassesses_today(treatment: Treatment) -> None:
    record(treatment, day(14), answers())
    today = record(treatment, day(16), answers(lumps=1), today=day(16)).check_in
    assert today.status == "watch"  # back after a symptom-free check-in
    record(treatment, day(15), answers(lumps=1), today=day(16))
    today.refresh_from_db()
    assert (today.status, today.reasons) == ("contact_clinic", ["persisting:lumps"])


@pytest.mark.parametrize(
    ("on", "today", "message"),
    [
        (day(6), day(5), "hasn't come yet"),
        (day(-1), day(0), "starts on the day of your treatment"),
        (day(31), day(31), "diary ended"),
        (day(3), day(5), "can no longer be filled in"),
    ],
    ids=["a future day", "before the treatment", "after the diary", "the day before yesterday"],
)
def test_days_that_cannot_be_filled_in(
    treatment: Treatment, on: dt.date, today: dt.date, message: str
) -> None:
    with pytest.raises(checkins.CheckInRefused, match=message):
        record(treatment, on, answers(), today=today)
    assert not CheckIn.objects.exists()


def test_yesterday_can_be_filled_in_once(treatment: Treatment) -> None:
    record(treatment, day(4), answers(), today=day(5))
    with pytest.raises(checkins.CheckInRefused, match="already saved"):
        record(treatment, day(4), answers(swelling=1), today=day(5))
    assert CheckIn.objects.get().swelling == 0


def test_open_dates(treatment: Treatment) -> None:
    assert checkins.open_dates(treatment=treatment, today=day(5)) == [day(5), day(4)]
    factories.create_check_in(treatment=treatment, local_date=day(4))
    treatment.refresh_from_db()  # its latest check-in, as the next request reads it
    assert checkins.open_dates(treatment=treatment, today=day(5)) == [day(5)]
    assert checkins.open_dates(treatment=treatment, today=day(0)) == [day(0)]
    assert checkins.open_dates(treatment=treatment, today=day(32)) == []


@pytest.mark.parametrize(
    ("filled", "asked", "found"),
    [
        ([], 5, None),
        ([3], 5, None),  # the latest is earlier: nothing that day
        ([3, 5], 5, 5),  # the latest is that day's
        ([3, 5], 3, 3),  # an earlier day: looked up
        ([3, 5], 4, None),
        ([3, 5], 2, None),
    ],
)
def test_check_in_on_a_day(
    treatment: Treatment, filled: list[int], asked: int, found: int | None
) -> None:
    for n in filled:
        factories.create_check_in(treatment=treatment, local_date=day(n))
    treatment = Treatment.objects.select_related("latest_check_in").get(pk=treatment.pk)

    check_in = checkins.check_in_on(treatment=treatment, local_date=day(asked))

    assert (check_in.local_date if check_in else None) == (day(found) if found else None)


def test_check_in_on_today_needs_no_query_once_the_treatment_is_loaded(
    treatment: Treatment, django_assert_num_queries: AssertMaxQueries
) -> None:
    factories.create_check_in(treatment=treatment, local_date=day(4))
    factories.create_check_in(treatment=treatment, local_date=day(5))
    treatment = Treatment.objects.select_related("latest_check_in").get(pk=treatment.pk)

    with django_assert_num_queries(0):
        assert checkins.check_in_on(treatment=treatment, local_date=day(5)) is not None
        assert checkins.check_in_on(treatment=treatment, local_date=day(6)) is None
    with django_assert_num_queries(1):
        assert checkins.check_in_on(treatment=treatment, local_date=day(4)) is not None
