"""Recording a patient's daily check-in.

Which days can be filled in: today, and yesterday if it was missed, within
the diary (day 0 to the product's last day). A check-in for a day that has
one replaces it, and what it said before is kept as a revision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from functools import cached_property

from django.db import transaction
from django.utils.formats import date_format

from recovery import alerts, audit, course, locks, reminders, triage
from recovery.models import (
    AuditAction,
    AuditEvent,
    CheckIn,
    CheckInRevision,
    Treatment,
    User,
    WarningSignReport,
)


class CheckInRefused(Exception):
    """The check-in cannot be saved; the message says why, in the patient's words.

    `warning_signs`: the red flags it carried, which were kept and told to the clinic
    all the same (record_check_in); the message then says so.
    """

    TOLD = "Your clinic has been told about the warning signs you reported."

    def __init__(
        self,
        message: str,
        *,
        warning_signs: frozenset[str] | set[str] = frozenset(),
        replayed_report: bool = False,
    ) -> None:
        self.warning_signs = frozenset(warning_signs)
        self.replayed_report = replayed_report
        super().__init__(f"{message} {self.TOLD}" if self.warning_signs else message)


class SubmissionConflict(CheckInRefused):
    """The same idempotency key came back with other answers (409)."""


class CheckInChanged(CheckInRefused):
    """The day's check-in changed after the form was filled in against it."""

    def __init__(self, current: CheckIn | None) -> None:
        self.current = current
        super().__init__(
            "The patient's check-in for this day has changed since you opened this form. "
            "Read what it says now, then save again."
        )


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


def submission_digest(*, local_date: dt.date, answers: course.Answers, note: str) -> str:
    """What a submission sent, as a digest kept with its idempotency key."""
    sent = {
        "date": local_date.isoformat(),
        "ratings": {s: answers.ratings.get(s) for s in course.SYMPTOMS},
        "red_flags": sorted(answers.red_flags),
        "note": note,
    }
    return hashlib.sha256(json.dumps(sent, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class _Sent:
    """What a submission sent for a day: its answers and note, and its key (a replay of the
    same key and answers changes nothing)."""

    local_date: dt.date
    answers: course.Answers
    note: str
    key: uuid.UUID | None

    @cached_property
    def digest(self) -> str:
        return submission_digest(local_date=self.local_date, answers=self.answers, note=self.note)


@dataclass(frozen=True)
class _Earlier:
    """What an earlier submission with the same key made, and what it sent."""

    check_in: CheckIn | None
    digest: str
    red_flags: frozenset[str]


def _replayed(idempotency_key: uuid.UUID, treatment: Treatment) -> _Earlier | None:
    """The earlier submission with the same key, if any (another patient's: refused)."""
    check_in = CheckIn.objects.filter(idempotency_key=idempotency_key).first()
    if check_in is not None:
        earlier = _Earlier(check_in, check_in.answers_digest, frozenset(check_in.red_flags))
        owner = check_in.treatment_id
    elif revision := (
        CheckInRevision.objects.filter(idempotency_key=idempotency_key)
        .select_related("check_in")
        .first()
    ):
        flags = frozenset(revision.answers.get("red_flags", []))
        earlier = _Earlier(revision.check_in, revision.answers_digest, flags)
        owner = revision.check_in.treatment_id
    elif report := WarningSignReport.objects.filter(idempotency_key=idempotency_key).first():
        earlier = _Earlier(None, "", frozenset(report.red_flags))
        owner = report.treatment_id
    else:
        return None
    if owner != treatment.pk:
        raise CheckInRefused("This submission can't be accepted.")
    return earlier


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
    seen_version: int | None = None,
    answered_at: dt.datetime | None = None,
    entered_by: User | None,
    today: dt.date,
    at: dt.datetime,
    ip_address: str | None = None,
) -> RecordedCheckIn:
    """Save the answers for `local_date`, assessed against the check-in before it.

    Ratings left out (None) keep what an earlier check-in of the same day said.
    A replay of an already saved submission (same idempotency key, same answers)
    changes nothing and returns the check-in it made; the same key with other
    answers is refused (SubmissionConflict). `seen_version` is the version of the
    day's check-in the form was filled in against (0: none yet); if the day's
    check-in has changed since, CheckInChanged and nothing is saved.

    Warning signs are never dropped: when the answers cannot be saved as a check-in
    (the day cannot be filled in any more, or the key was used for other answers),
    those answered yes are still kept and open or raise the alert (`answered_at`:
    when the patient answered, by the phone's clock), and the refusal says so.
    """
    sent = _Sent(local_date, answers, note, idempotency_key)
    with transaction.atomic():
        treatment = locks.treatment_for_update(treatment.pk)
        outcome = _record_locked(
            treatment, sent, seen_version, by=entered_by, today=today, at=at, ip_address=ip_address
        )
        if isinstance(outcome, CheckInRefused) and outcome.warning_signs:
            # Committed with the refusal: the answers are not a check-in, their warning signs
            # still reach the clinic.
            _keep_warning_signs(
                treatment, sent, outcome, answered_at, by=entered_by, at=at, ip_address=ip_address
            )
    if isinstance(outcome, CheckInRefused):
        raise outcome
    return outcome


def _record_locked(
    treatment: Treatment,
    sent: _Sent,
    seen_version: int | None,
    *,
    by: User | None,
    today: dt.date,
    at: dt.datetime,
    ip_address: str | None,
) -> RecordedCheckIn | CheckInRefused:
    """record_check_in's work, with the treatment locked; a refusal is returned, not raised,
    so that the warning signs it carries can be kept in the same transaction."""
    local_date, answers, note, idempotency_key = sent.local_date, sent.answers, sent.note, sent.key
    if idempotency_key is not None and (earlier := _replayed(idempotency_key, treatment)):
        if earlier.check_in is not None and earlier.digest in ("", sent.digest):
            return RecordedCheckIn(earlier.check_in, replayed=True)
        new_flags = answers.red_flags & set(course.RED_FLAGS) - earlier.red_flags
        if earlier.check_in is None:  # refused before, its warning signs kept: refuse again
            told = f" {CheckInRefused.TOLD}" if earlier.red_flags and not new_flags else ""
            return CheckInRefused(
                f"This check-in was already sent and could not be saved.{told}",
                warning_signs=new_flags,
                replayed_report=True,
            )
        return SubmissionConflict(
            "This check-in was already sent with other answers, so nothing was changed. "
            "Please check in again.",
            warning_signs=new_flags,
            replayed_report=True,
        )

    # The day's row as committed now (never a copy read before the lock): a check-in for
    # a day that has one always replaces it.
    existing = CheckIn.objects.filter(treatment=treatment, local_date=local_date).first()
    refusal = refusal_for_date(
        treatment=treatment, local_date=local_date, today=today, exists=existing is not None
    )
    if refusal:
        return CheckInRefused(refusal, warning_signs=answers.red_flags & set(course.RED_FLAGS))
    if seen_version is not None and seen_version != (existing.version if existing else 0):
        return CheckInChanged(existing)
    if existing is not None and any(answers.ratings.get(s) is None for s in course.SYMPTOMS):
        # Sent from "Something feels wrong" before rating: keep the day's other answers.
        answers = course.Answers(
            ratings={
                s: getattr(existing, s) if answers.ratings.get(s) is None else answers.ratings[s]
                for s in course.SYMPTOMS
            },
            red_flags=answers.red_flags,
        )
        note = note or existing.note
    try:
        _validate(answers)
    except CheckInRefused as error:
        return error

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
        "answers_digest": sent.digest if idempotency_key is not None else "",
        "entered_by": by,
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
        action = AuditEvent.Action.CHECK_IN_CREATED
    else:
        _keep_revision(existing, replaced_at=at)
        for name, value in values.items():
            setattr(existing, name, value)
        existing.updated_at = at
        existing.version += 1
        existing.save(update_fields=[*values, "updated_at", "version"])
        check_in = existing
        action = AuditEvent.Action.CHECK_IN_REPLACED
    check_in.treatment = treatment
    for changed in (check_in, _reassess_next(check_in)):
        if changed is not None:
            alerts.open_or_raise_alert(check_in=changed, at=at)
    reminders.follow_check_in(treatment, local_date=local_date)
    triage.keep_current(treatment, now=at, also=["next_reminder_at"])
    audit.record_event(
        treatment.patient, action, check_in.public_id, actor=by, ip_address=ip_address
    )
    return RecordedCheckIn(check_in, replayed=False)


def _keep_warning_signs(
    treatment: Treatment,
    sent: _Sent,
    refused: CheckInRefused,
    answered_at: dt.datetime | None,
    *,
    by: User | None,
    at: dt.datetime,
    ip_address: str | None,
) -> WarningSignReport:
    """The warning signs of answers that could not be a check-in, kept with why (`refused`),
    and the alert they open or raise. `answered_at`: when the patient answered, by the
    phone's clock. With the treatment locked, in record_check_in's transaction."""
    report = WarningSignReport.objects.create(
        treatment=treatment,
        local_date=sent.local_date,
        red_flags=[f for f in course.RED_FLAGS if f in refused.warning_signs],
        note=sent.note,
        answered_at=answered_at,
        received_at=at,
        refusal=str(refused),
        # A replay's report is kept already, under the key.
        idempotency_key=None if refused.replayed_report else sent.key,
        entered_by=by,
    )
    audit.record_event(
        treatment.patient,
        AuditAction.WARNING_SIGNS_REPORTED,
        report.public_id,
        actor=by,
        ip_address=ip_address,
    )
    alerts.open_or_raise_for_report(report, at=at)
    triage.keep_current(treatment, now=at)
    return report


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
        answers_digest=check_in.answers_digest,
        recorded_at=check_in.updated_at,
        replaced_at=replaced_at,
        entered_by=check_in.entered_by,
    )


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
