"""The triage dashboard: the clinic's patients, the ones who need a call first.

One row per current (not superseded) treatment, in the order of
recovery-course.md ("What the clinic sees"): urgent, contact clinic, missed
check-in, watch, on track, diary finished; within a level the longest
waiting first. The place of each row is kept on the row by the write
functions (`recovery.triage`), so a page (`triage.queue`) costs the same few
queries however many patients the clinic has. htmx re-fetches the queue every
minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods

from recovery import access, audit, course, long_term
from recovery.guidance import LONG_TERM_GROUP_HEADING, STANDING_WORDS
from recovery.models import AuditAction, Clinician, LongTermWatch, Triage
from recovery.views.types import HtmxHttpRequest

MAX_QUERY_LENGTH = 100

# ?level=urgent, ?level=contact_clinic, … in triage order.
LEVELS = {level.name.lower(): level for level in Triage}
# ?level=long_term_due, … : the long-term group, after the diary's levels.
STANDINGS = {f"long_term_{s}": course.Standing(s) for s in LongTermWatch.SHOWN}


@dataclass(frozen=True)
class LevelCount:
    slug: str
    label: str
    count: int
    url: str
    current: bool


def _url(**params: object) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse("clinic:dashboard") + (f"?{query}" if query else "")


def _news(counts: list[LevelCount]) -> str:
    return "Queue updated. " + "; ".join(f"{c.label}: {c.count}" for c in counts) + "."


def _refused(request: HtmxHttpRequest, clinician: Clinician, message: str) -> HttpResponse:
    return render(
        request,
        "recovery/clinic/dashboard.html",
        {
            "clinician": clinician,
            "error": message,
            "levels": LEVELS,
            "standings": {slug: STANDING_WORDS[s] for slug, s in STANDINGS.items()},
        },
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
    if level_slug and level_slug not in LEVELS and level_slug not in STANDINGS:
        return _refused(
            request, clinician, f"There is no triage level “{level_slug[:40]}” to filter by."
        )
    try:
        wanted_page = int(request.GET.get("page") or 1)
    except ValueError:
        return _refused(request, clinician, "The page must be a whole number, like 2.")

    now = timezone.now()
    read = long_term.dashboard(
        clinician,
        search=q,
        level=LEVELS.get(level_slug),
        standing=STANDINGS.get(level_slug),
        page=wanted_page,
        now=now,
    )
    queue, group = read.queue, read.long_term
    counts = [
        LevelCount(
            slug=slug,
            label=level.label,
            count=queue.by_level.get(level, 0),
            url=_url(level=slug),
            current=slug == level_slug,
        )
        for slug, level in LEVELS.items()
    ]
    long_term_counts = [
        LevelCount(
            slug=slug,
            label=STANDING_WORDS[standing],
            count=group.by_standing.get(standing, 0),
            url=_url(level=slug),
            current=slug == level_slug,
        )
        for slug, standing in STANDINGS.items()
    ]
    audit.record_event(
        None,  # a list, not one patient's record
        AuditAction.DASHBOARD_VIEWED,
        actor=clinician.user,
        ip_address=audit.client_ip(request),
    )

    refresh = bool(request.htmx) and not request.htmx.boosted
    shown = ".".join(str(c.count) for c in (*counts, *long_term_counts))
    clinic_time = timezone.localtime(now, ZoneInfo(clinician.clinic.time_zone))
    page = queue.page
    context = {
        "clinician": clinician,
        "q": q,
        "level": level_slug,
        "level_label": (
            LEVELS[level_slug].label
            if level_slug in LEVELS
            else STANDING_WORDS[STANDINGS[level_slug]]
            if level_slug
            else ""
        ),
        "counts": counts,
        "long_term_counts": long_term_counts,
        "long_term": group,
        "long_term_heading": LONG_TERM_GROUP_HEADING,
        "all_url": _url(),
        "queue": queue,
        "prev_url": _url(level=level_slug, page=page - 1) if page > 1 else None,
        "next_url": _url(level=level_slug, page=page + 1) if page < queue.num_pages else None,
        "refresh_url": _url(level=level_slug, page=page if page > 1 else None),
        "shown": shown,
        # Said aloud (aria-live) when a refresh changed the counts.
        "news": _news([*counts, *long_term_counts])
        if refresh and request.GET.get("shown") != shown
        else "",
        "updated_at": clinic_time.strftime("%H:%M"),
        "updated_iso": now.isoformat(),
    }
    template = "recovery/clinic/dashboard.html"
    response = render(request, f"{template}#queue" if refresh else template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
