"""The bench's concurrent run: many requests at once, then the rows checked.

`make bench` (scripts/bench/cli.py) runs it after the latencies, once on SQLite and
once on PostgreSQL, each on a scratch database of its own (made and dropped as the
latencies' is), seeded with `demo --patients 200` and the bench's own patients, and
served by gunicorn with four sync workers on 127.0.0.1. Everyone signs in as they
would: each patient by their login link, the demo clinic's nurse with her email and
password; each form is read from the page a browser would show, its CSRF token and every
other hidden input included.
Then, with `manage.py sweep`'s work (reminders.sweep) looping in another process:

1. 50 patients send today's check-in at once (a thread and a connection each, released
   together by a barrier);
2. 20 replays of one submission (the same idempotency key and answers, a red flag);
3. 20 pairs, each a patient's missed yesterday and today sent at the same moment, and
   then a further check-in for today (a red flag);
4. 20 pairs, each a clinician resolving a patient's open alert while the patient sends
   a red-flag check-in.

Afterwards the rows are checked against what was sent (`check_rows`), and every
treatment's kept fields and every clinic's triage counts against a recount from the
rows (`consistency`). A 5xx, any other unexpected answer, or any row not as expected
fails the run. docs/benchmark.md says how to read it.

Not product code: the parts that touch the database run in subprocesses on the scratch
database (`python -m scripts.bench --concurrent-step …`), and write through the real write
functions, as the demo does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import html
import http.client
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from django.urls import reverse

from recovery import course
from recovery.demo.scenarios import RIVERSIDE_DEMO
from scripts.bench.latency import CLINICIAN_USERNAME, table
from scripts.bench.workspace import (
    Answer,
    BenchFailed,
    Workspace,
    check_in_result_prefix,
    fetch,
    postgres_unreachable,
    scratch_database,
    tail,
)

WORKERS = 4
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/aftercare_bench_concurrent"
REQUEST_SECONDS = 30.0  # no answer by then counts as an error
BARRIER_SECONDS = 30.0
SWEEP_READY_SECONDS = 60.0
SWEEP_STOP_SECONDS = 60.0
SWEEP_MAX_SECONDS = 600.0  # the loop stops itself by then, whatever happens to the bench
# Between two sweeps. Production sweeps every few minutes; back to back, on SQLite, the
# sweep's short writes (a claim per reminder due, the triage sweep's) could take the
# database's write lock before waiting requests do, which answer 500 after waiting 5 s.
SWEEP_PAUSE_SECONDS = 0.5
# The red flag the bench answers yes to: an urgent one (and a call to the emergency number).
RED_FLAG = "vision"
RESOLVE_NOTE = "Called the patient (the bench's concurrent run)."

# The phases, as the report names them.
PREPARING = "signing in and opening the forms"
AT_ONCE = "check-ins at once"
REPLAYS = "replays of one key at once"
PAIRS = "pairs: yesterday's and today's at once"
FURTHER = "then a further check-in for today"
RACES = "resolves racing red-flag check-ins"
# What counts as an answer: a page, a redirect (a check-in saved, a resolve accepted), or
# for a resolve also 409, refused because the alert changed since its page was opened.
_200 = frozenset({200})
_302 = frozenset({302})
_RESOLVE = frozenset({302, 409})


@dataclass(frozen=True)
class Scale:
    at_once: int = 50  # patients sending today's check-in at once
    replays: int = 20  # replays of one submission
    pairs: int = 20  # patients sending yesterday's and today's at once
    races: int = 20  # resolves racing a red-flag check-in
    backdrop: int = 200  # generated patients around the bench's own (demo --patients)


# --- Reading pages ---------------------------------------------------------------------

_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.DOTALL | re.IGNORECASE)
_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)


def _attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'(?:^|\s){re.escape(name)}\s*=\s*"([^"]*)"', tag)
    return html.unescape(found.group(1)) if found else None


def form_fields(page: str, action: str) -> dict[str, str]:
    """The hidden inputs (the CSRF token, and whatever else the form carries back) of the
    page's first form that posts to the path `action`."""
    for attributes, body in _FORM.findall(page):
        if (_attribute(attributes, "method") or "").lower() != "post":
            continue
        if urlsplit(_attribute(attributes, "action") or "").path != action:
            continue
        fields = {}
        for tag in _INPUT.findall(body):
            name = _attribute(tag, "name")
            if name and (_attribute(tag, "type") or "").lower() == "hidden":
                fields[name] = _attribute(tag, "value") or ""
        return fields
    raise BenchFailed(f"The page has no form that posts to {action}.")


def answers(*, red_flag: str | None = None) -> dict[str, str]:
    """Every symptom "none" and every warning sign "no", but `red_flag` "yes"."""
    form = dict.fromkeys(course.SYMPTOMS, "0")
    form.update(dict.fromkeys(course.RED_FLAGS, "no"))
    if red_flag:
        form[red_flag] = "yes"
    form["note"] = ""
    return form


def server_errors(log: str) -> list[str]:
    """The exceptions a server log ends its tracebacks with, most frequent first, counted."""
    lines = re.findall(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception)\b.*$", log, re.M)
    return [f"{n} × {line[:200]}" for line, n in Counter(lines).most_common()]


# --- Over HTTP -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One request of the run and how it was answered."""

    phase: str
    method: str
    path: str
    status: int | None  # None: no answer
    problem: str  # empty when answered as expected

    @property
    def server_error(self) -> bool:
        return self.status is not None and self.status >= 500


class Traffic:
    """Sends requests to the scratch server and keeps every one, with its answer."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        self._mine = threading.local()  # the request this thread sent last

    def send(
        self,
        phase: str,
        method: str,
        path: str,
        *,
        cookies: Mapping[str, str],
        form: Mapping[str, str] | None = None,
        expect: frozenset[int] = frozenset({302}),
        to: str = "",
    ) -> Answer | None:
        """The answer, if it is one of `expect` (and a redirect goes to a path starting with
        `to`); None otherwise. Either way the request is kept."""
        try:
            answer = fetch(
                self.workspace.port,
                method,
                path,
                cookies=cookies,
                form=form,
                timeout=REQUEST_SECONDS,
            )
        except (OSError, http.client.HTTPException) as error:
            self._keep(Sent(phase, method, path, None, f"no answer ({error})"))
            return None
        problem = ""
        if answer.status not in expect:
            problem = f"answered {answer.status}"
            if answer.location:
                problem += f" to {answer.location}"
        elif 300 <= answer.status < 400 and not answer.location.startswith(to):
            problem = f"redirected to {answer.location or 'nowhere'}"
        self._keep(Sent(phase, method, path, answer.status, problem))
        return None if problem else answer

    def need(self, answer: Answer | None, what: str) -> Answer:
        """`answer`, or stop the run: the bench cannot go on without it."""
        if answer is not None:
            return answer
        last: Sent = self._mine.last
        message = f"{what}: {last.method} {last.path} {last.problem}."
        if last.server_error:
            message += f"\nThe server's log ends with:\n{self.workspace.server_log()}"
        raise BenchFailed(message)

    def _keep(self, sent: Sent) -> None:
        self._mine.last = sent
        with self._lock:
            self.sent.append(sent)


def released_together(
    sends: Sequence[Callable[[], Answer | None]],
) -> list[Answer | None]:
    """Each send on its own thread (and so its own connection), all waiting at one barrier
    and released together; their answers, in order."""
    barrier = threading.Barrier(len(sends))
    results: list[Answer | None] = [None] * len(sends)

    def run(index: int, send: Callable[[], Answer | None]) -> None:
        try:
            barrier.wait(timeout=BARRIER_SECONDS)
        except threading.BrokenBarrierError:
            return
        results[index] = send()

    threads = [
        threading.Thread(target=run, args=(i, send), daemon=True) for i, send in enumerate(sends)
    ]
    for thread in threads:
        thread.start()
    waited = BARRIER_SECONDS + REQUEST_SECONDS + 5
    deadline = time.monotonic() + waited
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    if barrier.broken:
        raise BenchFailed(
            f"{len(sends)} requests to send together were not all ready within "
            f"{BARRIER_SECONDS:g} s."
        )
    if any(thread.is_alive() for thread in threads):
        raise BenchFailed(f"Requests sent together still had no answer after {waited:g} s.")
    return results


class Driver:
    """The people of the plan, signed in, and the four phases sent."""

    def __init__(self, traffic: Traffic, plan: Mapping[str, Any]) -> None:
        self.traffic = traffic
        self.plan = plan
        self.cookies: dict[str, dict[str, str]] = {}  # each patient's, by treatment
        self.clinician: dict[str, str] = {}
        self.outcomes: dict[str, Any] = {}
        self.check_in = reverse("check_in")
        self.result = check_in_result_prefix()

    def people(self) -> Iterator[Mapping[str, Any]]:
        for group in ("at_once", "replays", "pairs", "races"):
            yield from self.plan[group]

    # Signing in, as each person would

    def sign_in_everyone(self) -> None:
        """The clinician, then every patient, as many at a time as there are workers."""
        self.clinician = self.sign_in_clinician()
        people = list(self.people())
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            jars = list(pool.map(self.sign_in_patient, people))
        for person, jar in zip(people, jars, strict=True):
            self.cookies[person["treatment"]] = jar

    def sign_in_patient(self, person: Mapping[str, Any]) -> dict[str, str]:
        """Open the login link, then press "Sign in": as a browser would, the page is fetched
        without the link's fragment (the token), which its script puts in the form."""
        send, need = self.traffic.send, self.traffic.need
        jar: dict[str, str] = {}
        what = f"Signing in {person['name']} by their login link"
        page_path = person["sign_in"]
        page = need(send(PREPARING, "GET", page_path, cookies=jar, expect=_200), what)
        jar.update(page.cookies)
        form = {**form_fields(page.body.decode(), page_path), "token": person["token"]}
        signed_in = need(send(PREPARING, "POST", page_path, cookies=jar, form=form), what)
        jar.update(signed_in.cookies)
        return jar

    def sign_in_clinician(self) -> dict[str, str]:
        send, need = self.traffic.send, self.traffic.need
        jar: dict[str, str] = {}
        sign_in = reverse("clinic:sign_in")
        what = f"Signing in {CLINICIAN_USERNAME} with email and password"
        page = need(send(PREPARING, "GET", sign_in, cookies=jar, expect=_200), what)
        jar.update(page.cookies)
        form = {
            **form_fields(page.body.decode(), sign_in),
            "email": self.plan["clinician"]["email"],
            "password": self.plan["clinician"]["password"],
        }
        dashboard = reverse("clinic:dashboard")
        signed_in = need(
            send(PREPARING, "POST", sign_in, cookies=jar, form=form, to=dashboard), what
        )
        jar.update(signed_in.cookies)
        return jar

    # Forms, read from the pages

    def check_in_form(
        self, person: Mapping[str, Any], *, day: str = "", red_flag: str | None = None
    ) -> dict[str, str] | None:
        """The check-in page's form for `day` (today if not given), answered; None if the
        page did not open (counted in the phase)."""
        jar = self.cookies[person["treatment"]]
        path = self.check_in + (f"?{urlencode({'date': day})}" if day else "")
        page = self.traffic.send(PREPARING, "GET", path, cookies=jar, expect=_200)
        if page is None:
            return None
        jar.update(page.cookies)
        form = {**form_fields(page.body.decode(), self.check_in), **answers(red_flag=red_flag)}
        form["idempotency_key"] = form.get("idempotency_key") or str(uuid.uuid4())
        return form

    def post_check_in(
        self, phase: str, person: Mapping[str, Any], form: Mapping[str, str]
    ) -> Callable[[], Answer | None]:
        jar = self.cookies[person["treatment"]]
        return lambda: self.traffic.send(
            phase, "POST", self.check_in, cookies=jar, form=form, to=self.result
        )

    # The phases

    def at_once(self) -> None:
        """Every patient of the group sends today's check-in at the same moment."""
        sends, keys = [], {}
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            forms = list(pool.map(self.check_in_form, self.plan["at_once"]))
        for person, form in zip(self.plan["at_once"], forms, strict=True):
            if form is not None:
                keys[person["treatment"]] = form["idempotency_key"]
                sends.append(self.post_check_in(AT_ONCE, person, form))
        if sends:
            released_together(sends)
        self.outcomes["at_once"] = keys

    def replays(self) -> None:
        """The same submission (one idempotency key, the same answers) many times at once."""
        person = self.plan["replays"][0]
        form = self.check_in_form(person, red_flag=RED_FLAG)
        if form is None:
            self.outcomes["replays"] = {"key": "", "locations": []}
            return
        answered = released_together(
            [self.post_check_in(REPLAYS, person, form)] * self.plan["scale"]["replays"]
        )
        self.outcomes["replays"] = {
            "key": form["idempotency_key"],
            "locations": [a.location for a in answered if a is not None],
        }

    def pairs(self) -> None:
        """Yesterday's (missed) and today's check-in of one patient at the same moment, a
        pair at a time; then a further check-in for today (a red flag) from each."""
        yesterday = self.plan["yesterday"]
        sent: dict[str, dict[str, str]] = {}
        for person in self.plan["pairs"]:
            late, todays = self.check_in_form(person, day=yesterday), self.check_in_form(person)
            if late is None or todays is None:
                continue
            released_together(
                [self.post_check_in(PAIRS, person, late), self.post_check_in(PAIRS, person, todays)]
            )
            sent[person["treatment"]] = {
                "yesterday": late["idempotency_key"],
                "today": todays["idempotency_key"],
            }
        for person in self.plan["pairs"]:
            further = self.check_in_form(person, red_flag=RED_FLAG)
            if further is not None and person["treatment"] in sent:
                self.post_check_in(FURTHER, person, further)()
                sent[person["treatment"]]["further"] = further["idempotency_key"]
        self.outcomes["pairs"] = sent

    def races(self) -> None:
        """A clinician resolving a patient's open alert while the patient sends a red-flag
        check-in, at the same moment, a pair at a time. A resolve refused (409) because the
        alert changed under it is an answer, not an error."""
        sent: dict[str, dict[str, Any]] = {}
        for person in self.plan["races"]:
            check_in = self.check_in_form(person, red_flag=RED_FLAG)
            resolve = reverse("clinic:resolve_alert", kwargs={"public_id": person["alert"]})
            page = self.traffic.send(PREPARING, "GET", resolve, cookies=self.clinician, expect=_200)
            if check_in is None or page is None:
                continue
            form = {
                **form_fields(page.body.decode(), resolve),
                "outcome": "advised_at_home",
                "note": RESOLVE_NOTE,
            }
            patient_page = reverse("clinic:patient", kwargs={"public_id": person["patient"]})
            answered = released_together(
                [
                    self.post_check_in(RACES, person, check_in),
                    functools.partial(
                        self.traffic.send,
                        RACES,
                        "POST",
                        resolve,
                        cookies=self.clinician,
                        form=form,
                        expect=_RESOLVE,
                        to=patient_page,
                    ),
                ]
            )
            resolved = answered[1]
            sent[person["treatment"]] = {
                "check_in": check_in["idempotency_key"],
                "resolve": resolved.status if resolved is not None else None,
            }
        self.outcomes["races"] = sent


# --- manage.py sweep, looping in another process ---------------------------------------


@dataclass(frozen=True)
class SweepFigures:
    sweeps: int = 0
    triage_moved: int = 0
    reminders: int = 0  # reminders and nudges queued
    failures: tuple[str, ...] = ()


class Sweeper:
    """`python -m scripts.bench --concurrent-step sweep` in a process of its own, until
    stopped."""

    def __init__(self, workspace: Workspace, folder: Path) -> None:
        self.workspace = workspace
        self.ready = folder / "sweep-ready"
        self.stop_file = folder / "sweep-stop"
        self.input = folder / "sweep.json"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.input.write_text(json.dumps({"ready": str(self.ready), "stop": str(self.stop_file)}))
        self.process = self.workspace.spawn_bench(
            "--concurrent-step", "sweep", "--concurrent-input", str(self.input)
        )
        deadline = time.monotonic() + SWEEP_READY_SECONDS
        while not self.ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BenchFailed(f"The sweep loop did not start:\n{tail(self.stop())}")
            time.sleep(0.05)

    def stop(self) -> str:
        """Stop the loop after its current sweep; what it printed."""
        if self.process is None:
            return ""
        self.stop_file.touch()
        try:
            out, err = self.process.communicate(timeout=SWEEP_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        self.process = None
        return out if out.strip() else err

    def figures(self, printed: str) -> SweepFigures:
        try:
            data = json.loads(printed)
        except ValueError:
            return SweepFigures(failures=(f"the sweep loop failed: {tail(printed, 5)}",))
        return SweepFigures(**{**data, "failures": tuple(data["failures"])})


def sweep_loop(*, ready: Path, stop: Path) -> SweepFigures:
    """What `manage.py sweep` does, again and again until `stop` exists. A sweep that fails
    on the database is counted and the loop goes on."""
    from django.db import DatabaseError
    from django.utils import timezone

    from recovery import reminders

    sweeps = moved = queued = 0
    failures: list[str] = []
    ready.touch()
    deadline = time.monotonic() + SWEEP_MAX_SECONDS
    while not stop.exists() and time.monotonic() < deadline:
        try:
            result = reminders.sweep(now=timezone.now())
        except DatabaseError as error:
            failures.append(f"{type(error).__name__}: {error}")
        else:
            sweeps += 1
            moved += result.triage_moved
            queued += result.reminders + result.nudges
        time.sleep(SWEEP_PAUSE_SECONDS)
    return SweepFigures(sweeps, moved, queued, tuple(failures))


# --- The bench's patients (--concurrent-step setup) --------------------


def setup(scale: Scale, *, now: dt.datetime) -> dict[str, Any]:
    """The bench's own patients at the demo's first clinic, each treated a few days ago
    with a diary through the real write functions, and a fresh login link:

    - at once, and pairs: treated 4 days ago, check-ins on days 0 and 1, so yesterday and
      the day before are missed (the sweep is due to mark them "missed check-in");
    - the replays, and the races: treated 2 days ago, check-ins on days 0 and 1; for the
      races yesterday's rated pain severe, so an alert ("contact clinic") is open.
    """
    from django.db import transaction
    from django.utils import timezone

    from recovery import checkins, login_links
    from recovery.enrollment import (
        PatientDetails,
        TreatmentDetails,
        add_treatment,
        enroll_patient,
    )
    from recovery.models import Alert, Clinic, Product

    clinic = Clinic.objects.get(name=RIVERSIDE_DEMO.clinic.name)
    product = Product.objects.get(code="bellafill")
    zone = ZoneInfo(clinic.time_zone)
    today = timezone.localdate(now, timezone=zone)
    calm = course.Answers(ratings=dict.fromkeys(course.SYMPTOMS, 0), red_flags=frozenset())
    severe_pain = course.Answers(
        ratings={**calm.ratings, "pain": course.SEVERE}, red_flags=frozenset()
    )

    def enrolled(
        group: str, number: int, *, treated_days_ago: int, diary: Sequence[course.Answers]
    ) -> dict[str, Any]:
        name = f"Bench {group.replace('_', ' ')} {number:02d}"
        details = PatientDetails(
            name=name,
            email=f"bench-{group.replace('_', '-')}-{number:02d}@example.com",
            mobile="",
            date_of_birth=dt.date(1990, 1, 1),
            time_zone=clinic.time_zone,
        )
        patient = enroll_patient(clinic=clinic, details=details, enrolled_by=None)
        visit = TreatmentDetails(product, today - dt.timedelta(days=treated_days_ago))
        treatment = add_treatment(patient=patient, details=visit, recorded_by=None, at=now)
        for day, day_answers in enumerate(diary):
            local_date = treatment.treated_on + dt.timedelta(days=day)
            checkins.record_check_in(
                treatment=treatment,
                local_date=local_date,
                answers=day_answers,
                entered_by=patient.user,
                today=local_date,
                at=min(dt.datetime.combine(local_date, dt.time(12), tzinfo=zone), now),
            )
        link = urlsplit(login_links.issue_login_link(patient=patient, at=now))
        person: dict[str, Any] = {
            "name": name,
            "patient": str(patient.public_id),
            "treatment": str(treatment.public_id),
            "sign_in": link.path,
            "token": link.fragment,
        }
        if group == "races":
            alert = Alert.objects.get(treatment=treatment, resolved_at__isnull=True)
            person["alert"] = str(alert.public_id)
        return person

    with transaction.atomic():
        plan = {
            "scale": dataclasses.asdict(scale),
            "today": today.isoformat(),
            "yesterday": (today - dt.timedelta(days=1)).isoformat(),
            "time_zone": clinic.time_zone,
            "clinician": {"email": CLINICIAN_USERNAME, "password": RIVERSIDE_DEMO.password},
            "at_once": [
                enrolled("at_once", n, treated_days_ago=4, diary=[calm, calm])
                for n in range(1, scale.at_once + 1)
            ],
            "replays": [enrolled("replays", 1, treated_days_ago=2, diary=[calm, calm])],
            "pairs": [
                enrolled("pairs", n, treated_days_ago=4, diary=[calm, calm])
                for n in range(1, scale.pairs + 1)
            ],
            "races": [
                enrolled("races", n, treated_days_ago=2, diary=[calm, severe_pain])
                for n in range(1, scale.races + 1)
            ],
        }
    return plan


# --- The rows afterwards (--concurrent-step check) ---------------------


@dataclass(frozen=True)
class RowCheck:
    label: str
    expected: int
    found: int
    detail: str = ""  # a few of those not as expected, and why

    @property
    def passed(self) -> bool:
        return self.expected == self.found


def _tally(
    label: str, people: Sequence[Mapping[str, Any]], problem: Callable[[Mapping[str, Any]], str]
) -> RowCheck:
    """How many of `people` have no problem, of all of them."""
    problems = [f"{person['name']}: {why}" for person in people if (why := problem(person))]
    return RowCheck(label, len(people), len(people) - len(problems), _some(problems))


def _some(problems: Sequence[str], shown: int = 3) -> str:
    more = len(problems) - shown
    return "; ".join(problems[:shown]) + (f"; and {more} more" if more > 0 else "")


def check_rows(
    plan: Mapping[str, Any], outcomes: Mapping[str, Any], *, now: dt.datetime
) -> list[RowCheck]:
    """The rows of the bench's patients against what they and the clinician sent."""
    from django.utils import timezone

    from recovery.models import Alert, CheckIn, CheckInRevision, Treatment

    today = dt.date.fromisoformat(plan["today"])
    yesterday = today - dt.timedelta(days=1)
    groups = ("at_once", "replays", "pairs", "races")
    by_public_id = {
        str(t.public_id): t
        for t in Treatment.objects.filter(
            public_id__in=[person["treatment"] for g in groups for person in plan[g]]
        )
    }
    pks = [t.pk for t in by_public_id.values()]
    days: dict[tuple[int, dt.date], list[CheckIn]] = defaultdict(list)
    for row in CheckIn.objects.filter(treatment_id__in=pks):
        days[(row.treatment_id, row.local_date)].append(row)
    keys = Counter(
        str(key)
        for key in CheckIn.objects.filter(treatment_id__in=pks).values_list(
            "idempotency_key", flat=True
        )
        if key
    )
    keys.update(
        str(key)
        for key in CheckInRevision.objects.filter(check_in__treatment_id__in=pks).values_list(
            "idempotency_key", flat=True
        )
        if key
    )
    alerts: dict[int, list[Alert]] = defaultdict(list)
    for alert in Alert.objects.filter(treatment_id__in=pks):
        alerts[alert.treatment_id].append(alert)

    def treatment(person: Mapping[str, Any]) -> Treatment:
        return by_public_id[person["treatment"]]

    def on(person: Mapping[str, Any], day: dt.date) -> CheckIn | None:
        rows = days.get((treatment(person).pk, day), [])
        return rows[0] if len(rows) == 1 else None

    def saved(key: str | None) -> str:
        """Why the submission under `key` is not saved exactly once, or ""."""
        if not key:
            return "not sent"
        return "" if keys[key] == 1 else f"saved {keys[key]} times"

    def open_urgent(person: Mapping[str, Any]) -> str:
        open_alerts = [a for a in alerts[treatment(person).pk] if a.resolved_at is None]
        if not open_alerts:
            return "no open alert"
        if open_alerts[0].level != course.Status.URGENT:
            return f"its open alert is at {open_alerts[0].level}, not urgent"
        return ""

    checks = []
    zone = ZoneInfo(plan["time_zone"])
    if timezone.localdate(now, timezone=zone) != today:
        checks.append(RowCheck("the patients' day did not change during the run", 1, 0))

    at_once, sent_at_once = plan["at_once"], outcomes.get("at_once", {})
    checks.append(
        _tally(
            f"{len(at_once)} at once: today's check-in saved, once",
            at_once,
            lambda p: (
                saved(sent_at_once.get(p["treatment"]))
                or ("" if on(p, today) else "no check-in for today")
            ),
        )
    )

    replayed = plan["replays"][0]
    key, locations = outcomes["replays"]["key"], outcomes["replays"]["locations"]
    todays = on(replayed, today)
    result = reverse("check_in_result", kwargs={"public_id": todays.public_id}) if todays else None
    checks += [
        RowCheck(
            f"{plan['scale']['replays']} replays of one key: check-ins saved",
            1,
            keys[key] if key else 0,
        ),
        RowCheck(
            "  answered with that check-in", plan["scale"]["replays"], locations.count(result)
        ),
        RowCheck("  alerts raised by its red flag", 1, len(alerts[treatment(replayed).pk])),
    ]

    pairs, sent_pairs = plan["pairs"], outcomes.get("pairs", {})

    def pair(person: Mapping[str, Any]) -> dict[str, str]:
        sent: dict[str, str] = sent_pairs.get(person["treatment"], {})
        return sent

    def latest_is_today(person: Mapping[str, Any]) -> str:
        todays, kept = on(person, today), treatment(person).latest_check_in_id
        if todays is None:
            return "no check-in for today"
        if kept is None:
            return "no latest check-in"
        if kept != todays.pk:
            latest = CheckIn.objects.filter(pk=kept).values_list("local_date", flat=True).first()
            return f"latest check-in is {latest}'s"
        return ""

    def further_saved(person: Mapping[str, Any]) -> str:
        key = pair(person).get("further")
        todays = on(person, today)
        if saved(key):
            return saved(key)
        if todays is None or str(todays.idempotency_key) != key:
            return "today's check-in is not the further one"
        return ""

    checks += [
        _tally(
            f"{len(pairs)} pairs: yesterday's check-in saved",
            pairs,
            lambda p: (
                saved(pair(p).get("yesterday"))
                or ("" if on(p, yesterday) else "no check-in for yesterday")
            ),
        ),
        _tally("  today's check-in saved", pairs, lambda p: saved(pair(p).get("today"))),
        _tally("  latest check-in is today's", pairs, latest_is_today),
        _tally("  then a further check-in for today saved", pairs, further_saved),
        _tally("  its red flag's alert open", pairs, open_urgent),
    ]

    races, sent_races = plan["races"], outcomes.get("races", {})
    accepted = [p for p in races if sent_races.get(p["treatment"], {}).get("resolve") == 302]
    resolved = [p for p in races if any(a.resolved_at for a in alerts[treatment(p).pk])]
    checks += [
        _tally(f"{len(races)} races: an alert open after each (none lost)", races, open_urgent),
        _tally(
            "  the red-flag check-in saved",
            races,
            lambda p: saved(sent_races.get(p["treatment"], {}).get("check_in")),
        ),
        RowCheck(
            "  alerts resolved: as many as resolves accepted (302)",
            len(accepted),
            len(resolved),
            _some(
                [f"{p['name']}: resolved, but refused" for p in resolved if p not in accepted]
                + [f"{p['name']}: accepted, not resolved" for p in accepted if p not in resolved]
            ),
        ),
    ]
    return checks


def consistency(*, now: dt.datetime) -> list[RowCheck]:
    """Every treatment's kept fields against its rows: the latest check-in is the one of
    the latest day, the open alert the unresolved one, and the triage place what place_of
    makes of those (unless time has moved it since: such a row is due for the sweep, and
    not compared). And every clinic's triage counts against a count of its rows."""
    from django.db.models import OuterRef, Subquery

    from recovery.models import Alert, CheckIn, Treatment, Triage, TriageCounts
    from recovery.triage import counts_of, place_of

    latest_of = dict(
        Treatment.objects.annotate(
            row_latest=Subquery(
                CheckIn.objects.filter(treatment=OuterRef("pk"))
                .order_by("-local_date")
                .values("pk")[:1]
            )
        ).values_list("pk", "row_latest")
    )
    check_ins = CheckIn.objects.in_bulk([pk for pk in latest_of.values() if pk])
    unresolved = {a.treatment_id: a for a in Alert.objects.filter(resolved_at__isnull=True)}
    treatments = list(
        Treatment.objects.select_related("product", "patient", "latest_check_in").order_by("pk")
    )

    def day(check_in: CheckIn | None) -> str:
        return check_in.local_date.isoformat() if check_in else "none"

    latest_problems, alert_problems, place_problems = [], [], []
    due = 0
    for treatment in treatments:
        name = treatment.patient.name
        row_latest = check_ins.get(latest_of[treatment.pk])
        if treatment.latest_check_in_id != (row_latest.pk if row_latest else None):
            latest_problems.append(
                f"{name}: kept {day(treatment.latest_check_in)}'s, "
                f"the latest is {day(row_latest)}'s"
            )
        open_alert = unresolved.get(treatment.pk)
        if treatment.open_alert_id != (open_alert.pk if open_alert else None):
            alert_problems.append(
                f"{name}: kept {'an' if treatment.open_alert_id else 'no'} open alert, "
                f"{'one is' if open_alert else 'none is'} unresolved"
            )
        if treatment.triage_valid_until is not None and treatment.triage_valid_until <= now:
            due += 1
            continue
        # The treatment as its rows say it stands (not saved).
        treatment.latest_check_in, treatment.open_alert = row_latest, open_alert
        place = place_of(treatment, now=now).triage
        if place != treatment.triage:
            place_problems.append(
                f"{name}: kept {Triage(treatment.triage).label}, the rows say {place.label}"
            )

    count_problems = []
    kept_counts = list(TriageCounts.objects.select_related("clinic").order_by("pk"))
    for counts in kept_counts:
        recounted = counts_of(Treatment.objects.filter(clinic=counts.clinic, superseded=False))
        differ = [
            f"{level.label} {counts.by_level()[level]} (recounted {recounted.get(level, 0)})"
            for level in Triage
            if counts.by_level()[level] != recounted.get(level, 0)
        ]
        if differ:
            count_problems.append(f"{counts.clinic.name}: {', '.join(differ)}")

    n = len(treatments)
    return [
        RowCheck(
            "every treatment: latest check-in is its latest day's",
            n,
            n - len(latest_problems),
            _some(latest_problems),
        ),
        RowCheck(
            "  open alert is its unresolved one", n, n - len(alert_problems), _some(alert_problems)
        ),
        RowCheck(
            f"  triage place as recomputed from the rows ({due} due for the sweep, not compared)",
            n - due,
            n - due - len(place_problems),
            _some(place_problems),
        ),
        RowCheck(
            "every clinic: triage counts equal a recount",
            len(kept_counts),
            len(kept_counts) - len(count_problems),
            _some(count_problems),
        ),
    ]


def run_step(step: str, input_path: Path) -> dict[str, Any]:
    """One of the concurrent run's steps that touch the database, in a subprocess on the
    scratch database: its result, printed as JSON by `python -m scripts.bench`."""
    from django.utils import timezone

    data = json.loads(input_path.read_text())
    if step == "setup":
        return setup(Scale(**data), now=timezone.now())
    if step == "sweep":
        figures = sweep_loop(ready=Path(data["ready"]), stop=Path(data["stop"]))
        return dataclasses.asdict(figures)
    if step == "check":
        now = timezone.now()
        checks = check_rows(data["plan"], data["outcomes"], now=now) + consistency(now=now)
        return {"checks": [dataclasses.asdict(c) for c in checks]}
    raise BenchFailed(f"Unknown step of the concurrent run: {step!r}.")


# --- The report ------------------------------------------------------------------------


@dataclass(frozen=True)
class ConcurrentReport:
    database: str
    sent: tuple[Sent, ...] = ()
    checks: tuple[RowCheck, ...] = ()
    sweep: SweepFigures = SweepFigures()
    server_log: tuple[str, ...] = ()  # the exceptions the server logged, counted
    seconds: float = 0.0
    skipped: str = ""  # why the run did not happen, if so
    failed_to_run: bool = False  # skipped where it must not be (CI)

    @property
    def errors(self) -> list[Sent]:
        return [s for s in self.sent if s.problem]

    @property
    def mismatches(self) -> list[RowCheck]:
        return [c for c in self.checks if not c.passed]

    @property
    def failed(self) -> bool:
        return (
            self.failed_to_run
            or bool(self.errors)
            or bool(self.mismatches)
            or bool(self.sweep.failures)
        )

    def refused_resolves(self) -> int:
        return sum(1 for s in self.sent if s.phase == RACES and s.status == 409)

    def as_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "skipped": self.skipped,
            "failed": self.failed,
            "seconds": round(self.seconds, 1),
            "workers": WORKERS,
            "requests": len(self.sent),
            "http_errors": len(self.errors),
            "server_errors": sum(1 for s in self.sent if s.server_error),
            "refused_resolves": self.refused_resolves(),
            "phases": [
                {"phase": phase, "requests": n, "errors": errors}
                for phase, n, errors in self._phases()
            ],
            "errors": [dataclasses.asdict(s) for s in self.errors],
            "server_log": list(self.server_log),
            "sweep": dataclasses.asdict(self.sweep),
            "rows": [{**dataclasses.asdict(c), "passed": c.passed} for c in self.checks],
        }

    def _phases(self) -> list[tuple[str, int, int]]:
        phases = [PREPARING, AT_ONCE, REPLAYS, PAIRS, FURTHER, RACES]
        return [
            (
                phase,
                sum(1 for s in self.sent if s.phase == phase),
                sum(1 for s in self.sent if s.phase == phase and s.problem),
            )
            for phase in phases
        ]

    def as_text(self) -> str:
        head = f"Concurrent run: {self.database}"
        if self.skipped:
            return f"{head}\n  {'FAILED' if self.failed_to_run else 'skipped'}: {self.skipped}"
        sweep = self.sweep
        lines = [
            f"{head}, gunicorn with {WORKERS} sync workers on 127.0.0.1, and manage.py "
            f"sweep looping in another process meanwhile ({_count(sweep.sweeps, 'sweep', 'sweeps')}"
            f": {sweep.triage_moved} treatments moved, {sweep.reminders} reminders queued, "
            f"{len(sweep.failures)} failed).",
            "",
            table(
                ["phase", "requests", "errors"],
                [[phase, str(n), str(errors)] for phase, n, errors in self._phases()],
                align="lrr",
            ),
        ]
        resolves = [s for s in self.sent if s.phase == RACES and "/resolve/" in s.path]
        if resolves:
            accepted = sum(1 for s in resolves if s.status == 302)
            lines.append(
                f"Resolves: {accepted} accepted (302), {self.refused_resolves()} refused as the "
                "alert had changed since its page was read (409, expected)."
            )
        errors = self.errors
        server = sum(1 for s in self.sent if s.server_error)
        lines.append(
            f"{len(self.sent)} requests; HTTP errors: {len(errors)} ({server} answered 5xx, "
            f"{len(errors) - server} other unexpected answers or none)."
        )
        by_kind = Counter(f"{s.method} {s.path} ({s.phase}) {s.problem}" for s in errors)
        lines += [f"  {n} × {what}" for what, n in by_kind.most_common(5)]
        if self.server_log:
            lines.append("The server logged:")
            lines += [f"  {line}" for line in self.server_log[:5]]
        lines += [f"  sweep failed: {failure[:200]}" for failure in self.sweep.failures[:5]]
        lines += [
            "",
            table(
                ["rows", "expected", "found", "ok"],
                [
                    [c.label, str(c.expected), str(c.found), "ok" if c.passed else "MISMATCH"]
                    for c in self.checks
                ],
                align="lrrl",
            ),
        ]
        for check in self.mismatches:
            if check.detail:
                lines.append(f"  {check.label.strip()}: {check.detail}")
        problems = [
            _count(len(errors), "HTTP error", "HTTP errors") if errors else "",
            _count(len(self.mismatches), "row", "rows") + " not as expected"
            if self.mismatches
            else "",
            _count(len(self.sweep.failures), "failed sweep", "failed sweeps")
            if self.sweep.failures
            else "",
        ]
        verdict = (
            "FAIL: " + ", ".join(p for p in problems if p)
            if self.failed
            else "PASS: no HTTP errors, every row as expected"
        )
        lines += ["", f"{verdict}; {self.seconds:.0f} s."]
        return "\n".join(lines)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# --- The run ---------------------------------------------------------------------------


@dataclass
class ConcurrentRun:
    say: Callable[[str], None]
    scale: Scale = dataclasses.field(default_factory=Scale)

    def on_postgres(self, database_url: str) -> ConcurrentReport:
        """The run on PostgreSQL; skipped with a reason if its server is unreachable, unless
        CI is set (then that is a failure)."""
        why = postgres_unreachable(database_url)
        if not why:
            return self(database_url)
        server = urlsplit(database_url).netloc.rpartition("@")[2]
        if os.environ.get("CI"):
            return ConcurrentReport(
                f"PostgreSQL at {server}",
                skipped=f"the server is unreachable ({why}), and CI is set.",
                failed_to_run=True,
            )
        return ConcurrentReport(
            f"PostgreSQL at {server}",
            skipped=f"the server is unreachable ({why}); start it, or set CI to make this fail.",
        )

    def __call__(self, database_url: str | None) -> ConcurrentReport:
        """The run on a scratch database: SQLite if `database_url` is None."""
        started = time.perf_counter()
        with ExitStack() as stack:
            folder = Path(
                stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="aftercare-bench-concurrent-")
                )
            )
            url, database = stack.enter_context(scratch_database(database_url, folder))
            self.say(f"Concurrent run on {database}: migrating, seeding…")
            workspace = Workspace(folder=folder, database_url=url)
            workspace.manage("migrate", "--no-input", "--verbosity", "0")
            workspace.manage("collectstatic", "--no-input", "--verbosity", "0")
            workspace.manage("demo", "--patients", str(self.scale.backdrop), "--seed", "2026")
            scale_file = folder / "scale.json"
            scale_file.write_text(json.dumps(dataclasses.asdict(self.scale)))
            plan = json.loads(
                workspace.bench("--concurrent-step", "setup", "--concurrent-input", str(scale_file))
            )
            stack.callback(workspace.stop_server)
            workspace.start_server(workers=WORKERS)
            traffic = Traffic(workspace)
            driver = Driver(traffic, plan)
            self.say(f"Signing in {sum(1 for _ in driver.people()) + 1} people over HTTP…")
            driver.sign_in_everyone()
            sweeper = Sweeper(workspace, folder)
            stack.callback(sweeper.stop)
            sweeper.start()
            self.say("Sending the check-ins, replays, pairs and races, the sweep looping…")
            driver.at_once()
            driver.replays()
            driver.pairs()
            driver.races()
            sweep = sweeper.figures(sweeper.stop())
            workspace.stop_server()
            self.say("Checking the rows…")
            check_file = folder / "check.json"
            check_file.write_text(json.dumps({"plan": plan, "outcomes": driver.outcomes}))
            checked = json.loads(
                workspace.bench("--concurrent-step", "check", "--concurrent-input", str(check_file))
            )
            log = workspace.server_log_path.read_text(errors="replace")
        return ConcurrentReport(
            database=database,
            sent=tuple(traffic.sent),
            checks=tuple(RowCheck(**c) for c in checked["checks"]),
            sweep=sweep,
            server_log=tuple(server_errors(log)),
            seconds=time.perf_counter() - started,
        )
