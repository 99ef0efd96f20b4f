"""The triage dashboard: the clinic's patients, the ones who need a call first.

One row per current (not superseded) treatment, in the order of
recovery-course.md ("What the clinic sees"): urgent, contact clinic, missed
check-in, watch, on track, diary finished; within a level the longest
waiting first. The place of each row is kept on the row by the write
functions (`recovery.triage`), so a page costs the same few queries however
many patients the clinic has. htmx re-fetches the queue every minute.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.db.models.fetch_modes import FETCH_RAISE
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods

from recovery import access, alerts, audit, course, triage
from recovery.guidance import RATING_WORDS, clinic_reason_words, rating_heard
from recovery.models import (
    Alert,
    AuditEvent,
    CheckIn,
    Clinician,
    Patient,
    Treatment,
    Triage,
    User,
    tel_uri,
)
from recovery.views.types import HtmxHttpRequest

PER_PAGE = 25
MAX_QUERY_LENGTH = 100

# ?level=urgent, ?level=contact_clinic, … in triage order.
LEVELS = {level.name.lower(): level for level in Triage}


def ago(then: dt.datetime, now: dt.datetime) -> str:
    """ "3 h ago", "2 days ago": how long ago, in the largest whole unit."""
    minutes = max(0, int((now - then).total_seconds())) // 60
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 24 * 60:
        return f"{minutes // 60} h ago"
    days = minutes // (24 * 60)
    return "1 day ago" if days == 1 else f"{days} days ago"


# What a screen reader says of every rating of every symptom, made once: a page shows 25
# rows of six.
_HEARD = {
    (symptom, value): rating_heard(symptom, value)
    for symptom in course.SYMPTOMS
    for value in (None, *RATING_WORDS)
}


@dataclass(frozen=True)
class Ratings:
    """A check-in's six ratings for the ratings cell: seen at a glance (ratings.glances),
    heard in words."""

    seen: list[tuple[str, int | None]]  # (symptom, rating)
    heard: str

    @classmethod
    def of(cls, check_in: CheckIn) -> Ratings:
        ratings = check_in.ratings()
        return cls(seen=ratings, heard="; ".join(_HEARD[s, v] for s, v in ratings))


@dataclass(frozen=True)
class OpenAlert:
    public_id: uuid.UUID
    urgent: bool
    level: str
    reasons: tuple[str, ...]
    opened_at: dt.datetime
    opened_ago: str
    raised_ago: str | None
    acknowledged_ago: str | None
    acknowledged_by: str | None
    # How to reach the patient, and what they wrote with the check-in that raised it.
    mobile: str
    mobile_uri: str
    note: str


@dataclass(frozen=True)
class Row:
    public_id: uuid.UUID
    url: str
    name: str
    level: str  # the slug, as in ?level=
    triage: str  # the level in words
    day: str
    ratings: Ratings | None
    checked_in_at: dt.datetime | None
    checked_in_ago: str
    alert: OpenAlert | None


@dataclass(frozen=True)
class LevelCount:
    slug: str
    label: str
    count: int
    url: str
    current: bool


def _person(user: User | None) -> str:
    if user is None:
        return "a former staff member"
    return user.get_full_name() or user.email or user.username


# Enough of the patient's note to act on; the whole of it is on the alert's panel.
NOTE_CHARACTERS = 140


def _open_alert(alert: Alert, patient: Patient, now: dt.datetime) -> OpenAlert:
    acknowledged = alert.acknowledged_at
    note = alerts.patient_note(alert)
    return OpenAlert(
        mobile=patient.mobile,
        mobile_uri=tel_uri(patient.mobile) if patient.mobile else "",
        note=note if len(note) <= NOTE_CHARACTERS else note[: NOTE_CHARACTERS - 1] + "…",
        public_id=alert.public_id,
        urgent=alert.level == course.Status.URGENT,
        level=alert.get_level_display(),
        reasons=tuple(clinic_reason_words(r) for r in alert.reasons),
        opened_at=alert.opened_at,
        opened_ago=ago(alert.opened_at, now),
        raised_ago=ago(alert.raised_at, now) if alert.raised_at else None,
        acknowledged_ago=ago(acknowledged, now) if acknowledged else None,
        acknowledged_by=_person(alert.acknowledged_by) if acknowledged else None,
    )


def _day(treatment: Treatment) -> str:
    """The day of the diary in the patient's own time zone."""
    today = treatment.patient.today()
    if today < treatment.treated_on:
        return "—"
    if today > treatment.diary_ends_on():
        return "finished"
    return str(treatment.day_on(today))


# What a row reads of its treatment: loading only these saves a sixth of the page's query
# (datetimes and JSON parsed for nothing); FETCH_RAISE makes a forgotten one an error.
ROW_FIELDS = (
    "triage",
    "treated_on",
    "patient__public_id",
    "patient__name",
    "patient__time_zone",
    "patient__mobile",
    "product__diary_days",
    *(f"latest_check_in__{symptom}" for symptom in course.SYMPTOMS),
    "latest_check_in__updated_at",
    *(
        f"open_alert__{name}"
        for name in ("public_id", "level", "reasons", "opened_at", "raised_at", "acknowledged_at")
    ),
    "open_alert__check_in__note",
    "open_alert__report__note",
    *(
        f"open_alert__acknowledged_by__{name}"
        for name in ("first_name", "last_name", "email", "username")
    ),
)


def _patient_urls() -> Callable[[uuid.UUID], str]:
    """The patient page's address for any patient, reversed once for a page of rows."""
    marker = uuid.UUID(int=0)
    before, after = reverse("clinic:patient", kwargs={"public_id": marker}).split(str(marker))
    return lambda public_id: f"{before}{public_id}{after}"


def _row(treatment: Treatment, now: dt.datetime, url: Callable[[uuid.UUID], str]) -> Row:
    latest = treatment.latest_check_in
    level = Triage(treatment.triage)
    public_id = treatment.patient.public_id
    return Row(
        public_id=public_id,
        url=url(public_id),
        name=treatment.patient.name,
        level=level.name.lower(),
        triage=level.label,
        day=_day(treatment),
        ratings=Ratings.of(latest) if latest else None,
        checked_in_at=latest.updated_at if latest else None,
        checked_in_ago=ago(latest.updated_at, now) if latest else "none yet",
        alert=(
            _open_alert(treatment.open_alert, treatment.patient, now)
            if treatment.open_alert
            else None
        ),
    )


def _url(**params: object) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse("clinic:dashboard") + (f"?{query}" if query else "")


def _news(counts: list[LevelCount]) -> str:
    return "Queue updated. " + "; ".join(f"{c.label}: {c.count}" for c in counts) + "."


def _refused(request: HtmxHttpRequest, clinician: Clinician, message: str) -> HttpResponse:
    return render(
        request,
        "recovery/clinic/dashboard.html",
        {"clinician": clinician, "error": message, "levels": LEVELS},
        status=400,
    )


# The clinician's search, kept in their session: a patient's name never goes into a URL
# (and so into the access log, the browser's history or a Referer).
SEARCH_KEY = "dashboard_search"


@require_http_methods(["GET", "POST"])
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    """The clinic's patients in triage order. A search is POSTed (the name in the body),
    kept in the session and answered with a redirect to the page, which shows it."""
    clinician = access.clinician_for_request(request)
    if request.method == "POST":
        searched = request.POST.get("q", "").strip()[:MAX_QUERY_LENGTH]
        if searched:
            request.session[SEARCH_KEY] = searched
        else:
            request.session.pop(SEARCH_KEY, None)
        return redirect("clinic:dashboard")
    q = str(request.session.get(SEARCH_KEY, ""))
    level_slug = request.GET.get("level", "")
    if level_slug and level_slug not in LEVELS:
        return _refused(
            request, clinician, f"There is no triage level “{level_slug[:40]}” to filter by."
        )
    try:
        wanted_page = int(request.GET.get("page") or 1)
    except ValueError:
        return _refused(request, clinician, "The page must be a whole number, like 2.")

    now = timezone.now()
    triage.sweep_triage(now=now, clinic=clinician.clinic)

    treatments: QuerySet[Treatment] = access.treatments_for_clinician(clinician).filter(
        superseded=False
    )
    # The counts the write functions keep, or, for a search, the matching rows counted.
    by_level: dict[int, int]
    if q:
        treatments = treatments.filter(patient__name__icontains=q)
        by_level = triage.counts_of(treatments)
    else:
        by_level = triage.counts_for(clinician.clinic).by_level()
    counts = [
        LevelCount(
            slug=slug,
            label=level.label,
            count=by_level.get(level, 0),
            url=_url(level=slug),
            current=slug == level_slug,
        )
        for slug, level in LEVELS.items()
    ]
    everyone = sum(by_level.values())
    if level_slug:
        level = LEVELS[level_slug]
        treatments = treatments.filter(triage=level)
        total = by_level.get(level, 0)
    else:
        total = everyone

    # Out of range: the nearest page there is (a refresh after the list shrank lands there).
    num_pages = max(1, -(-total // PER_PAGE))
    page = min(max(wanted_page, 1), num_pages)
    start = (page - 1) * PER_PAGE
    page_treatments = (
        treatments.order_by("triage", "triage_since", "id")
        .select_related(
            "patient",
            "product",
            "latest_check_in",
            "open_alert",
            "open_alert__acknowledged_by",
            "open_alert__check_in",
            "open_alert__report",
        )
        .only(*ROW_FIELDS)
        .fetch_mode(FETCH_RAISE)[start : start + PER_PAGE]
    )
    patient_url = _patient_urls()
    rows = [_row(t, now, patient_url) for t in page_treatments]

    audit.record_event(
        actor=clinician.user,
        patient=None,  # a list, not one patient's record
        action=AuditEvent.Action.DASHBOARD_VIEWED,
        ip_address=audit.client_ip(request),
    )

    refresh = bool(request.htmx) and not request.htmx.boosted
    shown = ".".join(str(c.count) for c in counts)
    clinic_time = timezone.localtime(now, ZoneInfo(clinician.clinic.time_zone))
    context = {
        "clinician": clinician,
        "q": q,
        "level": level_slug,
        "level_label": LEVELS[level_slug].label if level_slug else "",
        "counts": counts,
        "everyone": everyone,
        "all_url": _url(),
        "rows": rows,
        "total": total,
        "page": page,
        "num_pages": num_pages,
        "first_number": start + 1,
        "last_number": start + len(rows),
        "prev_url": _url(level=level_slug, page=page - 1) if page > 1 else None,
        "next_url": _url(level=level_slug, page=page + 1) if page < num_pages else None,
        "refresh_url": _url(level=level_slug, page=page if page > 1 else None),
        "shown": shown,
        # Said aloud (aria-live) when a refresh changed the counts.
        "news": _news(counts) if refresh and request.GET.get("shown") != shown else "",
        "updated_at": clinic_time.strftime("%H:%M"),
        "updated_iso": now.isoformat(),
    }
    template = "recovery/clinic/dashboard.html"
    response = render(request, f"{template}#queue" if refresh else template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
