"""Recording a patient's daily check-in.

Which days can be filled in: today, and yesterday if it was missed, within
the diary (day 0 to the product's last day). A check-in for a day that has
one replaces it, and what it said before is kept as a revision.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils.formats import date_format

from recovery import alerts, audit, course, triage
from recovery.models import CheckIn, CheckInRevision, Treatment, User


class CheckInRefused(Exception):
    """The check-in cannot be saved; the message says why, in the patient's words."""


@dataclass(frozen=True)
class RecordedCheckIn:
    check_in: CheckIn
    replayed: bool  # the same submission had already been saved


def _day(value: dt.date) -> str:
    return date_format(value, "l j F")


def refusal_for_date(
    *, treatment: Treatment, local_date: dt.date, today: dt.date, exists: bool
) -> str | None:
    """Why `local_date` cannot be filled in today, or None if it can."""
    yesterday = today - dt.timedelta(days=1)
    if local_date > today:
        return "You can't check in for a day that hasn't come yet."
    if local_date < treatment.treated_on:
        return f"Your diary starts on the day of your treatment, {_day(treatment.treated_on)}."
    if local_date > treatment.diary_ends_on():
        return f"Your diary ended on {_day(treatment.diary_ends_on())}. Thank you for keeping it."
    if local_date < yesterday:
        return (
            f"The check-in for {_day(local_date)} can no longer be filled in: "
            "only today's, and yesterday's if you missed it."
        )
    if local_date == yesterday and exists:
        return "Yesterday's check-in is already saved; only today's can be changed."
    return None


def check_in_on(*, treatment: Treatment, local_date: dt.date) -> CheckIn | None:
    """The treatment's check-in for `local_date`, if it has one.

    The treatment's latest check-in (the one of the latest day, kept by record_check_in)
    answers for its own day and every later one without a query: today's, usually. It is
    read as loaded with `treatment`, so pass a treatment read in this request.
    """
    if treatment.latest_check_in_id is None:
        return None
    latest = treatment.latest_check_in
    if latest is not None and latest.local_date <= local_date:
        if latest.local_date < local_date:
            return None
        latest.treatment = treatment  # as treatment.check_ins would give it
        return latest
    return treatment.check_ins.filter(local_date=local_date).first()


def day_to_fill(*, treatment: Treatment, local_date: dt.date, today: dt.date) -> CheckIn | None:
    """The day's check-in if it has one (to be replaced), None if it is new.

    CheckInRefused if the day cannot be filled in today.
    """
    existing = check_in_on(treatment=treatment, local_date=local_date)
    refusal = refusal_for_date(
        treatment=treatment, local_date=local_date, today=today, exists=existing is not None
    )
    if refusal:
        raise CheckInRefused(refusal)
    return existing


def open_dates(*, treatment: Treatment, today: dt.date) -> list[dt.date]:
    """The days the patient can fill in now, most recent first."""
    return [
        d
        for d in (today, today - dt.timedelta(days=1))
        if refusal_for_date(
            treatment=treatment,
            local_date=d,
            today=today,
            exists=check_in_on(treatment=treatment, local_date=d) is not None,
        )
        is None
    ]


def _validate(answers: course.Answers) -> None:
    unknown = answers.red_flags - set(course.RED_FLAGS)
    if unknown:
        raise CheckInRefused(f"Unknown red-flag question: {', '.join(sorted(unknown))}.")
    for symptom in course.SYMPTOMS:
        rating = answers.ratings.get(symptom)
        if rating is None:
            if not answers.red_flags:
                raise CheckInRefused("Please rate every symptom.")
        elif not (course.RATING_MIN <= rating <= course.RATING_MAX):
            raise CheckInRefused(f"A rating must be between 0 and 3, not {rating}.")


def _replayed(idempotency_key: uuid.UUID, treatment: Treatment) -> CheckIn | None:
    """The check-in an earlier submission with the same key made, if any."""
    check_in = CheckIn.objects.filter(idempotency_key=idempotency_key).first()
    if check_in is None:
        revision = (
            CheckInRevision.objects.filter(idempotency_key=idempotency_key)
            .select_related("check_in")
            .first()
        )
        check_in = revision.check_in if revision else None
    if check_in is not None and check_in.treatment_id != treatment.pk:
        raise CheckInRefused("This submission can't be accepted.")
    return check_in


def previous_answers(*, treatment: Treatment, before: dt.date) -> course.Answers | None:
    """The previous check-in's answers, the course's point of comparison.

    A symptom the previous check-in left unrated (one sent from "Something
    feels wrong" before rating anything) takes its latest earlier rating, so
    a lingering symptom is still compared with something.
    """
    earlier = CheckIn.objects.filter(treatment=treatment, local_date__lt=before).order_by(
        "-local_date"
    )
    ratings: dict[str, int | None] = {}
    red_flags: frozenset[str] = frozenset()
    found = False
    for check_in in earlier.iterator(chunk_size=4):
        if not found:
            red_flags, found = frozenset(check_in.red_flags), True
        for symptom, rating in check_in.ratings():
            if ratings.get(symptom) is None:
                ratings[symptom] = rating
        if all(ratings.get(s) is not None for s in course.SYMPTOMS):
            break
    return course.Answers(ratings=ratings, red_flags=red_flags) if found else None


def record_check_in(
    *,
    treatment: Treatment,
    local_date: dt.date,
    answers: course.Answers,
    note: str = "",
    idempotency_key: uuid.UUID | None = None,
    entered_by: User | None,
    today: dt.date,
    at: dt.datetime,
    ip_address: str | None = None,
) -> RecordedCheckIn:
    """Save the answers for `local_date`, assessed against the check-in before it.

    Ratings left out (None) keep what an earlier check-in of the same day said.
    A replay of an already saved submission (same idempotency key) changes
    nothing and returns the check-in it made.
    """
    with transaction.atomic():
        # One writer per treatment at a time: the day's row and its neighbours stay consistent.
        treatment = (
            Treatment.objects.select_for_update(of=("self",))
            .select_related("product", "patient", "latest_check_in", "open_alert")
            .get(pk=treatment.pk)
        )
        if idempotency_key is not None and (done := _replayed(idempotency_key, treatment)):
            return RecordedCheckIn(done, replayed=True)

        existing = day_to_fill(treatment=treatment, local_date=local_date, today=today)
        if existing is not None and any(answers.ratings.get(s) is None for s in course.SYMPTOMS):
            # Sent from "Something feels wrong" before rating: keep the day's other answers.
            answers = course.Answers(
                ratings={
                    s: getattr(existing, s)
                    if answers.ratings.get(s) is None
                    else answers.ratings[s]
                    for s in course.SYMPTOMS
                },
                red_flags=answers.red_flags,
            )
            note = note or existing.note
        _validate(answers)

        previous = previous_answers(treatment=treatment, before=local_date)
        day = treatment.day_on(local_date)
        assessment = course.assess(
            day=day,
            answers=answers,
            previous=previous,
            course=treatment.product.course,
        )
        values = {
            **{s: answers.ratings.get(s) for s in course.SYMPTOMS},
            "red_flags": [f for f in course.RED_FLAGS if f in answers.red_flags],
            "note": note,
            "status": assessment.status.value,
            "reasons": list(assessment.reasons),
            "idempotency_key": idempotency_key,
            "entered_by": entered_by,
        }
        if existing is None:
            check_in = CheckIn.objects.create(
                treatment=treatment,
                local_date=local_date,
                day=day,
                created_at=at,
                updated_at=at,
                **values,
            )
            action = "check_in.created"
        else:
            _keep_revision(existing, replaced_at=at)
            for name, value in values.items():
                setattr(existing, name, value)
            existing.updated_at = at
            existing.save(update_fields=[*values, "updated_at"])
            check_in = existing
            action = "check_in.replaced"
        for changed in (check_in, _reassess_next(check_in)):
            if changed is not None:
                alerts.open_or_raise_alert(check_in=changed, at=at)
        _keep_latest(treatment, check_in, at=at)
        audit.record_event(
            actor=entered_by,
            patient=treatment.patient,
            action=action,
            object_id=check_in.public_id,
            ip_address=ip_address,
        )
    return RecordedCheckIn(check_in, replayed=False)


def _keep_revision(check_in: CheckIn, *, replaced_at: dt.datetime) -> None:
    CheckInRevision.objects.create(
        check_in=check_in,
        answers={
            **{s: getattr(check_in, s) for s in course.SYMPTOMS},
            "red_flags": check_in.red_flags,
            "note": check_in.note,
        },
        status=check_in.status,
        reasons=check_in.reasons,
        idempotency_key=check_in.idempotency_key,
        recorded_at=check_in.updated_at,
        replaced_at=replaced_at,
        entered_by=check_in.entered_by,
    )


def _keep_latest(treatment: Treatment, check_in: CheckIn, *, at: dt.datetime) -> None:
    """Keep the treatment's denormalized latest check-in, open alert and triage place current."""
    latest = treatment.latest_check_in
    if latest is None or check_in.local_date >= latest.local_date:
        treatment.latest_check_in = check_in
    else:
        latest.refresh_from_db(fields=["status", "reasons"])
    treatment.save(update_fields=["latest_check_in"])
    treatment.refresh_from_db(fields=["open_alert"])
    triage.refresh_triage(treatment, now=at)


def _reassess_next(check_in: CheckIn) -> CheckIn | None:
    """A check-in filled in late (yesterday's) is the new "previous" of the one after it.

    Returns the next check-in if its status changed.
    """
    following = (
        CheckIn.objects.filter(treatment=check_in.treatment, local_date__gt=check_in.local_date)
        .order_by("local_date")
        .first()
    )
    if following is None:
        return None
    assessment = course.assess(
        day=following.day,
        answers=following.answers,
        previous=previous_answers(treatment=check_in.treatment, before=following.local_date),
        course=check_in.treatment.product.course,
    )
    if (following.status, following.reasons) == (assessment.status.value, list(assessment.reasons)):
        return None
    following.status = assessment.status.value
    following.reasons = list(assessment.reasons)
    following.save(update_fields=["status", "reasons"])
    return following
