"""Clinics, their clinicians and patients, treatments and daily check-ins.

URLs carry `public_id` (random UUIDs), never the sequential primary keys.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from recovery import course
from recovery.guidance import SKIN_TEST_WORDS, STANDING_WORDS, STATUS_WORDS, TRIAGE_WORDS

TIME_ZONE_CHOICES = sorted((tz, tz) for tz in zoneinfo.available_timezones() if "/" in tz)


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a known time zone.") from None


def tel_uri(number: str) -> str:
    """A `tel:` link for a phone number as people write it ("+1 (555) 010-0000")."""
    return "tel:" + "".join(ch for ch in number if ch.isdigit() or ch == "+")


class User(AbstractUser):
    """Anyone who signs in: a clinician (with a password) or a patient (by login link)."""


def one_of(field: str, values: Iterable[str], *, name: str) -> models.CheckConstraint:
    """The database, too, keeps `field` to one of `values` (its choices)."""
    return models.CheckConstraint(
        name=name, condition=Q(**{f"{field}__in": [str(v) for v in values]})
    )


def done_by() -> models.ForeignKey[User | None, User | None]:
    """Which user did it (entered an answer for the patient, acknowledged, stopped...): kept
    as a plain reference, emptied if the account is deleted (the audit trail keeps the name)."""
    return models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )


class Clinic(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=40, help_text="The number patients call in opening hours.")
    after_hours_phone = models.CharField(
        max_length=40, blank=True, help_text="The number patients call when the clinic is closed."
    )
    emergency_number = models.CharField(max_length=20, default="911")
    hours = models.CharField(
        max_length=200, blank=True, help_text="Opening hours as patients should read them."
    )
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    alert_email = models.EmailField(
        blank=True, help_text="Where alerts are emailed (no health details, only a link)."
    )
    requires_two_factor = models.BooleanField(
        default=False, help_text="Staff must confirm each sign-in with an authenticator app."
    )

    def __str__(self) -> str:
        return self.name

    @property
    def phone_uri(self) -> str:
        return tel_uri(self.phone)

    @property
    def after_hours_uri(self) -> str:
        return tel_uri(self.after_hours_phone)

    @property
    def emergency_uri(self) -> str:
        return tel_uri(self.emergency_number)


class Clinician(models.Model):
    class Role(models.TextChoices):
        CLINICIAN = "clinician", "Clinician"
        ADMIN = "admin", "Clinic admin"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="clinician")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="clinicians")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CLINICIAN)

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.username} ({self.clinic})"


class Product(models.Model):
    """A filler and the expected course it follows (recovery-course.md)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    early_days = models.PositiveSmallIntegerField(default=course.BELLAFILL.early_days)
    typical_days = models.PositiveSmallIntegerField(default=course.BELLAFILL.typical_days)
    expected_max_days = models.PositiveSmallIntegerField(default=course.BELLAFILL.expected_max_days)
    diary_days = models.PositiveSmallIntegerField(default=course.BELLAFILL.diary_days)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="product_course_days_in_order",
                condition=Q(early_days__gte=1)
                & Q(typical_days__gte=models.F("early_days"))
                & Q(expected_max_days__gte=models.F("typical_days"))
                & Q(diary_days__gte=models.F("expected_max_days")),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not (
            1 <= self.early_days <= self.typical_days <= self.expected_max_days <= self.diary_days
        ):
            raise ValidationError(
                "The days must be in order: early ≤ typical ≤ expected maximum ≤ diary length."
            )

    @property
    def course(self) -> course.CourseValues:
        return course.CourseValues(
            early_days=self.early_days,
            typical_days=self.typical_days,
            expected_max_days=self.expected_max_days,
            diary_days=self.diary_days,
        )


class Patient(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="patient")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    mobile = models.CharField(max_length=40, blank=True)
    # Why there is no mobile number, said at enrollment: the number a nurse calls when an
    # alert is urgent is asked for, not left out by accident.
    no_mobile_reason = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField()
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    language = models.CharField(max_length=10, default="en", choices=settings.LANGUAGES)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="patient_has_email_or_mobile", condition=~Q(email="") | ~Q(mobile="")
            )
        ]
        indexes = [models.Index(fields=["email"])]

    def __str__(self) -> str:
        return self.name

    def today(self) -> dt.date:
        """The patient's own calendar date, in their time zone."""
        return timezone.localdate(timezone=zoneinfo.ZoneInfo(self.time_zone))


class Triage(models.IntegerChoices):
    """The dashboard's order (recovery-course.md, "What the clinic sees"), in the words of
    guidance.TRIAGE_WORDS (keyed by the name, lower-cased)."""

    URGENT = 0, TRIAGE_WORDS["urgent"]
    CONTACT_CLINIC = 1, TRIAGE_WORDS["contact_clinic"]
    MISSED_CHECK_IN = 2, TRIAGE_WORDS["missed_check_in"]
    WATCH = 3, TRIAGE_WORDS["watch"]
    ON_TRACK = 4, TRIAGE_WORDS["on_track"]
    DIARY_FINISHED = 5, TRIAGE_WORDS["diary_finished"]


class Treatment(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="treatments")
    # The patient's clinic, repeated here so the dashboard reads one indexed table.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="treatments")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="treatments")
    treated_on = models.DateField(help_text="Day 0, in the patient's time zone.")
    areas = models.CharField(max_length=200, blank=True, help_text="E.g. left and right cheek.")
    injection_sites = models.PositiveSmallIntegerField(null=True, blank=True)
    session_number = models.PositiveSmallIntegerField(default=1)
    lot_number = models.CharField(max_length=50, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The one-time key of the enrollment (or next-session) form that recorded it: the same
    # form sent twice records one treatment (enrollment.AlreadyRecorded).
    submission_key = models.UUIDField(unique=True, null=True, blank=True, editable=False)

    # Kept current by the write functions (checkins, alerts, triage) so that the
    # dashboard costs the same however many patients a clinic has.
    superseded = models.BooleanField(
        default=False, help_text="A later treatment of the same patient has been recorded."
    )
    latest_check_in = models.ForeignKey(
        "CheckIn", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    open_alert = models.ForeignKey(
        "Alert", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    triage = models.PositiveSmallIntegerField(choices=Triage.choices, default=Triage.ON_TRACK)
    triage_since = models.DateTimeField(default=timezone.now)
    # When the passing of time alone (a missed day, the diary's end) next changes `triage`.
    triage_valid_until = models.DateTimeField(null=True, blank=True)
    # When the sweep next looks at it for a reminder or nudge (recovery.reminder_rules, kept
    # by recovery.reminders); never later than the next one owed. None: nothing owed.
    next_reminder_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-treated_on", "-id"]
        constraints = [
            models.CheckConstraint(
                name="treatment_session_number_positive", condition=Q(session_number__gte=1)
            )
        ]
        indexes = [
            models.Index(
                fields=["clinic", "superseded", "triage", "triage_since"], name="treatment_triage"
            ),
            models.Index(fields=["clinic", "triage_valid_until"], name="treatment_triage_due"),
            models.Index(
                fields=["next_reminder_at"],
                condition=Q(next_reminder_at__isnull=False),
                name="treatment_reminder_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} on {self.treated_on:%d %b %Y}"

    def day_on(self, local_date: dt.date) -> int:
        return course.day_number(self.treated_on, local_date)

    def diary_ends_on(self) -> dt.date:
        return self.treated_on + dt.timedelta(days=self.product.diary_days)


class TriageCounts(models.Model):
    """How many of a clinic's current treatments stand at each triage level.

    Kept by recovery.triage.recount in the same transaction as every write that moves a
    treatment between levels or on or off the dashboard, so that the dashboard reads six
    numbers instead of counting the clinic's rows on every refresh.
    """

    clinic = models.OneToOneField(
        Clinic, on_delete=models.CASCADE, primary_key=True, related_name="triage_counts"
    )
    # One per Triage level, named by its slug (Triage.X.name.lower()).
    urgent = models.PositiveIntegerField(default=0)
    contact_clinic = models.PositiveIntegerField(default=0)
    missed_check_in = models.PositiveIntegerField(default=0)
    watch = models.PositiveIntegerField(default=0)
    on_track = models.PositiveIntegerField(default=0)
    diary_finished = models.PositiveIntegerField(default=0)
    # The long-term watches at each standing the dashboard shows (LongTermWatch.SHOWN),
    # named long_term_<standing>.
    long_term_due = models.PositiveIntegerField(default=0)
    long_term_overdue = models.PositiveIntegerField(default=0)
    long_term_answered_yes = models.PositiveIntegerField(default=0)
    counted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "triage counts"

    def __str__(self) -> str:
        return f"Triage counts of clinic {self.clinic_id}"

    def by_level(self) -> dict[int, int]:
        return {level.value: getattr(self, level.name.lower()) for level in Triage}

    def by_standing(self) -> dict[str, int]:
        return {s: getattr(self, f"long_term_{s}") for s in LongTermWatch.SHOWN}


RATING_RANGE = Q()
for _symptom in course.SYMPTOMS:
    RATING_RANGE &= Q(**{f"{_symptom}__isnull": True}) | Q(
        **{f"{_symptom}__gte": course.RATING_MIN, f"{_symptom}__lte": course.RATING_MAX}
    )


class CheckIn(models.Model):
    """A patient's answers for one day of the diary, and what the course made of them."""

    class Status(models.TextChoices):
        """The course's statuses, in the patient's words (guidance.STATUS_WORDS)."""

        ON_TRACK = course.Status.ON_TRACK, STATUS_WORDS[course.Status.ON_TRACK].tag
        WATCH = course.Status.WATCH, STATUS_WORDS[course.Status.WATCH].tag
        CONTACT_CLINIC = (
            course.Status.CONTACT_CLINIC,
            STATUS_WORDS[course.Status.CONTACT_CLINIC].tag,
        )
        URGENT = course.Status.URGENT, STATUS_WORDS[course.Status.URGENT].tag

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    treatment = models.ForeignKey(Treatment, on_delete=models.CASCADE, related_name="check_ins")
    local_date = models.DateField()
    day = models.PositiveSmallIntegerField()
    swelling = models.PositiveSmallIntegerField(null=True, blank=True)
    redness = models.PositiveSmallIntegerField(null=True, blank=True)
    bruising = models.PositiveSmallIntegerField(null=True, blank=True)
    lumps = models.PositiveSmallIntegerField(null=True, blank=True)
    pain = models.PositiveSmallIntegerField(null=True, blank=True)
    itching = models.PositiveSmallIntegerField(null=True, blank=True)
    red_flags = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True, max_length=2000)
    status = models.CharField(max_length=20, choices=Status.choices)
    reasons = models.JSONField(default=list, blank=True)
    # Made on the phone for each submission; a replay of the same key is answered
    # with the check-in it already made.
    idempotency_key = models.UUIDField(unique=True, null=True, blank=True)
    # A digest of the answers that submission sent (checkins.submission_digest): a replay
    # of the key with other answers is refused, not silently taken for the first.
    answers_digest = models.CharField(max_length=64, blank=True)
    # 1 when made, one more each time it is replaced: a form carries the version it was
    # filled in against (the clinic's, taking a check-in by phone), and a stale one is refused.
    version = models.PositiveIntegerField(default=1)
    entered_by = done_by()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["local_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["treatment", "local_date"], name="one_check_in_per_treatment_per_day"
            ),
            models.CheckConstraint(name="check_in_ratings_0_to_3", condition=RATING_RANGE),
            one_of("status", course.Status, name="check_in_status_known"),
        ]

    def __str__(self) -> str:
        return f"Day {self.day} ({self.local_date})"

    @property
    def answers(self) -> course.Answers:
        return course.Answers(
            ratings={s: getattr(self, s) for s in course.SYMPTOMS},
            red_flags=frozenset(self.red_flags),
        )

    @property
    def course_status(self) -> course.Status:
        return course.Status(self.status)

    def ratings(self) -> list[tuple[str, int | None]]:
        return [(s, getattr(self, s)) for s in course.SYMPTOMS]


class CheckInRevision(models.Model):
    """What a check-in said before it was replaced (the history is kept)."""

    check_in = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="revisions")
    answers = models.JSONField()
    status = models.CharField(max_length=20, choices=CheckIn.Status.choices)
    reasons = models.JSONField(default=list)
    idempotency_key = models.UUIDField(unique=True, null=True, blank=True)
    answers_digest = models.CharField(max_length=64, blank=True)
    recorded_at = models.DateTimeField()
    replaced_at = models.DateTimeField()
    entered_by = done_by()

    class Meta:
        ordering = ["replaced_at"]

    def __str__(self) -> str:
        return f"Revision of {self.check_in} replaced at {self.replaced_at:%Y-%m-%d %H:%M}"


class LoginLink(models.Model):
    """A patient's single-use sign-in link; only a hash of its token is stored."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="login_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "created_at"])]

    def __str__(self) -> str:
        return f"Login link created {self.created_at:%Y-%m-%d %H:%M}"


class LongTermWatch(models.Model):
    """A patient's watch for late lumps after a PMMA product (recovery-course.md,
    "Long-term watch (PMMA)"): check-ins due on course.long_term_schedule, counted from
    the last treatment of a watched product, until five years after it.

    Kept by the write functions (recovery.long_term) as the treatment's triage place is:
    which treatment it follows, where it stands and until when, and when the sweep next
    looks at it for a reminder, so that the dashboard and the sweep read an index.
    """

    class Standing(models.TextChoices):
        DUE = course.Standing.DUE, STANDING_WORDS[course.Standing.DUE]
        OVERDUE = course.Standing.OVERDUE, STANDING_WORDS[course.Standing.OVERDUE]
        ANSWERED_YES = course.Standing.ANSWERED_YES, STANDING_WORDS[course.Standing.ANSWERED_YES]
        UP_TO_DATE = course.Standing.UP_TO_DATE, STANDING_WORDS[course.Standing.UP_TO_DATE]
        WAITING = course.Standing.WAITING, STANDING_WORDS[course.Standing.WAITING]
        ENDED = course.Standing.ENDED, STANDING_WORDS[course.Standing.ENDED]
        STOPPED = course.Standing.STOPPED, STANDING_WORDS[course.Standing.STOPPED]

    # The standings the dashboard shows as its long-term group, in its order.
    SHOWN = (course.Standing.DUE, course.Standing.OVERDUE, course.Standing.ANSWERED_YES)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="long_term_watch"
    )
    # The patient's clinic, repeated here so the dashboard reads one indexed table.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="long_term_watches")
    # The patient's latest treatment of a watched product: the clock counts from its date.
    # Emptied only for the moment a correction deletes it (long_term.follow_treatments
    # then points it at the one before, or the watch goes).
    treatment = models.ForeignKey(Treatment, on_delete=models.SET_NULL, null=True, related_name="+")
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = done_by()
    standing = models.CharField(max_length=20, choices=Standing.choices, default=Standing.WAITING)
    standing_since = models.DateTimeField(default=timezone.now)
    # When the passing of time alone (a due date, overdue, the end) next changes `standing`.
    standing_valid_until = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(
        null=True, blank=True, help_text="The due date the check-in asked for now answers."
    )
    # The due date last reminded of, and last nudged about: at most once each.
    reminded_for = models.DateField(null=True, blank=True)
    nudged_for = models.DateField(null=True, blank=True)
    # When the sweep next looks at it for a reminder or nudge (None: nothing owed).
    next_reminder_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["clinic", "standing", "standing_since"], name="long_term_standing"
            ),
            models.Index(
                fields=["standing_valid_until"],
                condition=Q(standing_valid_until__isnull=False),
                name="long_term_standing_due",
            ),
            models.Index(
                fields=["next_reminder_at"],
                condition=Q(next_reminder_at__isnull=False),
                name="long_term_reminder_due",
            ),
        ]
        constraints = [one_of("standing", course.Standing, name="long_term_standing_known")]

    def __str__(self) -> str:
        return f"Long-term watch of patient {self.patient_id}"

    @property
    def is_stopped(self) -> bool:
        return self.stopped_at is not None


class LateCheck(models.Model):
    """One long-term check-in: a new lump at a treated area or not, and the context."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    watch = models.ForeignKey(LongTermWatch, on_delete=models.CASCADE, related_name="checks")
    local_date = models.DateField(help_text="The day the patient answered, in their time zone.")
    due_on = models.DateField(
        null=True, blank=True, help_text="The due date it answered (none: between due dates)."
    )
    lump = models.BooleanField(
        help_text="A new lump, hardness, redness or swelling at a treated area."
    )
    # Context for the clinician, never a trigger (course.LONG_TERM_CONTEXT).
    recent_illness = models.BooleanField(default=False)
    recent_vaccination = models.BooleanField(default=False)
    recent_dental_work = models.BooleanField(default=False)
    note = models.TextField(blank=True, max_length=2000)
    idempotency_key = models.UUIDField(unique=True, null=True, blank=True)
    answers_digest = models.CharField(max_length=64, blank=True)
    entered_by = done_by()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["watch", "local_date"])]

    def __str__(self) -> str:
        return f"Long-term check-in on {self.local_date}"

    def context(self) -> list[str]:
        """The context questions answered yes, by code (course.LONG_TERM_CONTEXT)."""
        return [code for code in course.LONG_TERM_CONTEXT if getattr(self, code)]


class AuditAction(models.TextChoices):
    """Everything the audit trail can say: a closed list, in words for the clinic."""

    # The patient's own pages and sign-in.
    PATIENT_SIGNED_IN = "patient.signed_in", "Signed in with a link"
    LOGIN_LINK_ISSUED = "patient.login_link_issued", "Made a sign-in link"
    LOGIN_LINK_EMAILED = "patient.login_link_emailed", "Emailed a sign-in link"
    HOME_VIEWED = "patient.home_viewed", "Opened their home page"
    RECOVERY_VIEWED = "recovery.viewed", "Opened My recovery"
    REMINDERS_VIEWED = "reminders.viewed", "Opened the reminder settings"
    REMINDERS_CHANGED = "reminders.changed", "Changed the reminder settings"
    PUSH_SUBSCRIBED = "push.subscribed", "Turned on notifications on a phone"
    PUSH_UNSUBSCRIBED = "push.unsubscribed", "Turned off notifications on a phone"
    REMINDER_SENT = "reminder.sent", "Sent a daily reminder"
    NUDGE_SENT = "nudge.sent", "Sent a nudge after missed check-ins"
    LONG_TERM_REMINDER_SENT = "long_term.reminder_sent", "Sent a long-term check-in reminder"
    LONG_TERM_NUDGE_SENT = "long_term.nudge_sent", "Sent a nudge about a long-term check-in"
    LONG_TERM_VIEWED = "long_term.viewed", "Opened the long-term check-in"
    LONG_TERM_STOPPED = "long_term.stopped", "Stopped the long-term watch"
    LONG_TERM_RESUMED = "long_term.resumed", "Started the long-term watch again"
    LATE_CHECK_CREATED = "late_check.created", "Saved a long-term check-in"
    # Check-ins and alerts.
    CHECK_IN_CREATED = "check_in.created", "Saved a check-in"
    CHECK_IN_REPLACED = "check_in.replaced", "Changed a check-in"
    CHECK_IN_VIEWED = "check_in.viewed", "Viewed a check-in"
    WARNING_SIGNS_REPORTED = "warning_signs.reported", "Sent warning signs (not a check-in)"
    ALERT_OPENED = "alert.opened", "Alert opened"
    ALERT_RAISED = "alert.raised", "Alert raised to a higher level"
    ALERT_REASONS_ADDED = "alert.reasons_added", "Alert given another reason"
    ALERT_VIEWED = "alert.viewed", "Viewed an alert"
    ALERT_ACKNOWLEDGED = "alert.acknowledged", "Acknowledged an alert"
    ALERT_RESOLVED = "alert.resolved", "Resolved an alert"
    # The clinic's pages.
    DASHBOARD_VIEWED = "dashboard.viewed", "Viewed the dashboard"
    PATIENT_VIEWED = "patient.viewed", "Viewed the timeline"
    CHECK_INS_EXPORTED = "check_ins.exported", "Exported check-ins"
    AUDIT_TRAIL_VIEWED = "audit_trail.viewed", "Viewed the audit trail"
    # The record itself.
    PATIENT_ENROLLED = "patient.enrolled", "Enrolled the patient"
    PATIENT_CHANGED = "patient.changed", "Changed the patient's details"
    PATIENT_MOVED = "patient.moved", "Moved the patient to another clinic"
    TREATMENT_ADDED = "treatment.added", "Recorded a treatment"
    TREATMENT_CHANGED = "treatment.changed", "Changed a treatment"
    TREATMENT_DELETED = "treatment.deleted", "Deleted a treatment"
    SCREENING_RECORDED = "screening.recorded", "Recorded the pre-treatment checklist"
    SCREENING_WENT_AHEAD = (
        "screening.went_ahead_with_warnings",
        "Went ahead despite checklist warnings",
    )
    PATIENT_DELETED = "patient.deleted", "Deleted the patient's record"
    USER_DELETED = "user.deleted", "Deleted a user account"
    # The admin.
    PATIENT_VIEWED_IN_ADMIN = "patient.viewed_in_admin", "Viewed the record in the admin"
    PATIENT_LISTED_IN_ADMIN = "patient.listed_in_admin", "Listed in the admin"
    CHECK_IN_VIEWED_IN_ADMIN = "check_in.viewed_in_admin", "Viewed a check-in in the admin"
    AUDIT_VIEWED_IN_ADMIN = "audit.viewed_in_admin", "Read the audit trail in the admin"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Audit rows are only ever added: a bulk change or deletion is refused here too (and,
    on PostgreSQL, by a trigger: see docs/data-protection.md)."""

    def update(self, **kwargs: object) -> int:
        # The one change allowed: a deleted user's or patient's link emptied (on_delete
        # SET_NULL); the row keeps their identifiers in actor_ref and patient_ref.
        if (
            kwargs
            and set(kwargs) <= {"actor", "patient"}
            and all(v is None for v in kwargs.values())
        ):
            return super().update(**kwargs)
        raise ValueError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """Who read or changed which patient's record, when and from where. Append-only."""

    Action = AuditAction

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    patient = models.ForeignKey(
        Patient, on_delete=models.SET_NULL, null=True, related_name="audit_events"
    )
    # Who and which patient, kept for ever: a deleted user or patient leaves the links above
    # empty, never these (nor the row).
    actor_ref = models.CharField(max_length=150, blank=True, help_text="The actor's username.")
    patient_ref = models.UUIDField(null=True, blank=True, help_text="The patient's public id.")
    action = models.CharField(max_length=50, choices=Action.choices)
    object_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["patient", "-at"])]
        constraints = [one_of("action", AuditAction.values, name="audit_action_known")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit events cannot be deleted.")


class Alert(models.Model):
    """A check-in at contact_clinic or urgent needs a clinician; open until resolved."""

    class Level(models.TextChoices):
        """The statuses that open an alert, in the clinic's words (guidance)."""

        CONTACT_CLINIC = (
            course.Status.CONTACT_CLINIC,
            STATUS_WORDS[course.Status.CONTACT_CLINIC].clinic,
        )
        URGENT = course.Status.URGENT, STATUS_WORDS[course.Status.URGENT].clinic

    class Outcome(models.TextChoices):
        ADVISED_AT_HOME = "advised_at_home", "Advised at home"
        SEEN_IN_CLINIC = "seen_in_clinic", "Seen in clinic"
        REFERRED = "referred", "Referred"
        COULD_NOT_REACH = "could_not_reach", "Could not reach"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    treatment = models.ForeignKey(Treatment, on_delete=models.CASCADE, related_name="alerts")
    level = models.CharField(max_length=20, choices=Level.choices)
    reasons = models.JSONField(default=list)
    check_in = models.ForeignKey(
        CheckIn,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        help_text="The check-in that opened or last raised the alert.",
    )
    late_check = models.ForeignKey(
        LateCheck,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The long-term check-in (a late lump) that opened or last raised it.",
    )
    report = models.ForeignKey(
        "WarningSignReport",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The warning signs, sent outside a check-in, that opened or last raised it.",
    )
    # 1 when opened, one more at every change (raised, a new reason, acknowledged,
    # resolved): the clinic's forms carry the version they showed, and the write
    # functions refuse a stale one (alerts.AlertChanged).
    version = models.PositiveIntegerField(default=1)
    opened_at = models.DateTimeField()
    raised_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = done_by()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = done_by()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(blank=True, max_length=4000)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["treatment"],
                condition=Q(resolved_at__isnull=True),
                name="one_open_alert_per_treatment",
            ),
            one_of("level", ["contact_clinic", "urgent"], name="alert_level_known"),
            models.CheckConstraint(
                name="resolved_alert_has_outcome",
                condition=Q(resolved_at__isnull=True) | ~Q(outcome=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} alert opened {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def patient_note(self) -> str:
        """The patient's own words with the check-in (or the warning signs) that opened or
        last raised the alert; needs its check_in, late_check and report loaded."""
        source = (
            self.report
            if self.report_id
            else self.late_check
            if self.late_check_id
            else self.check_in
        )
        return source.note if source is not None else ""


class WarningSignReport(models.Model):
    """Warning signs a patient answered yes to that could not be saved as a check-in.

    A check-in answered on the phone offline is sent later for the day it was made; when
    that day can no longer be filled in (or its key was already used for other answers),
    the check-in is refused but its warning signs are not dropped: they are kept here and
    open or raise the alert, with the time the patient answered.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    treatment = models.ForeignKey(
        Treatment, on_delete=models.CASCADE, related_name="warning_sign_reports"
    )
    local_date = models.DateField(help_text="The day the patient answered, in their time zone.")
    red_flags = models.JSONField(default=list)
    note = models.TextField(blank=True, max_length=2000)
    answered_at = models.DateTimeField(
        null=True, blank=True, help_text="When the patient answered, by the phone's clock."
    )
    received_at = models.DateTimeField()
    refusal = models.TextField(help_text="Why it could not be saved as a check-in.")
    idempotency_key = models.UUIDField(unique=True, null=True, blank=True)
    entered_by = done_by()

    class Meta:
        ordering = ["received_at"]

    def __str__(self) -> str:
        return f"Warning signs received {self.received_at:%Y-%m-%d %H:%M}"


class Screening(models.Model):
    """The pre-treatment checklist of recovery-course.md ("Before treatment")."""

    class SkinTest(models.TextChoices):
        NEGATIVE = course.SkinTest.NEGATIVE, SKIN_TEST_WORDS[course.SkinTest.NEGATIVE]
        POSITIVE = course.SkinTest.POSITIVE, SKIN_TEST_WORDS[course.SkinTest.POSITIVE]
        EQUIVOCAL = course.SkinTest.EQUIVOCAL, SKIN_TEST_WORDS[course.SkinTest.EQUIVOCAL]
        NOT_DONE = course.SkinTest.NOT_DONE, SKIN_TEST_WORDS[course.SkinTest.NOT_DONE]

    treatment = models.OneToOneField(Treatment, on_delete=models.CASCADE, related_name="screening")
    skin_test_on = models.DateField(null=True, blank=True, help_text="When the skin test was read.")
    skin_test_result = models.CharField(
        max_length=20, choices=SkinTest.choices, default=SkinTest.NOT_DONE
    )
    lidocaine_allergy = models.BooleanField(default=False)
    bovine_collagen_allergy = models.BooleanField(default=False)
    anaphylaxis_history = models.BooleanField(default=False)
    multiple_severe_allergies = models.BooleanField(default=False)
    keloid_tendency = models.BooleanField(default=False)
    # The warnings shown at enrollment and the clinician's decision to go ahead.
    warnings = models.JSONField(default=list, blank=True)
    went_ahead_by = done_by()
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Screening for {self.treatment}"


class ReminderSettings(models.Model):
    """When the patient wants their daily reminder; no row means the defaults (on, 19:00)."""

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="reminder_settings"
    )
    reminder_time = models.TimeField(
        default=dt.time(19, 0), help_text="Time of day, in the patient's time zone."
    )
    reminders_on = models.BooleanField(default=True)
    # The patient's local date of the last reminder or nudge: at most one a day.
    last_reminded_on = models.DateField(null=True, blank=True)
    # The first day of the missed stretch last nudged about: at most one nudge a stretch.
    nudged_stretch_from = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Reminders for {self.patient_id}"


class PushSubscription(models.Model):
    """A browser's Web Push subscription (one phone) for a patient's reminders."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=2000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Push subscription {self.pk} of patient {self.patient_id}"
