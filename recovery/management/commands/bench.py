"""`manage.py bench`: how fast the pages patients and clinicians use answer, against gunicorn.

Everything runs on a scratch database made for the run and dropped after it
(a temporary SQLite file, or a PostgreSQL database named by --database-url),
seeded with `manage.py demo --patients N`, served by gunicorn with one sync
worker on a free loopback port, with production settings (DEBUG off, static
files collected into a temporary folder). Sign-in skips the UI: the bench
opens sessions for a demo patient and the demo clinic's nurse in the scratch
database and sends their cookies; Chromium (Playwright) then loads the
patient's check-in page for its weight and first paint. Then the concurrent
run (_bench_concurrent.py), once on SQLite and once on PostgreSQL: many
check-ins and resolves at once against gunicorn with four workers, and the
rows checked afterwards. docs/benchmark.md says how to read it all.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import dj_database_url
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from recovery import access, audit, course
from recovery.demo.scenarios import RIVERSIDE_DEMO
from recovery.models import AuditAction

if TYPE_CHECKING:
    from recovery.management.commands._bench_concurrent import ConcurrentReport

# Who the bench signs in as: the demo's first clinic's nurse, and its first patient
# (on day 5 of an on-track diary, so today's check-in can be sent again and again).
CLINICIAN_USERNAME = RIVERSIDE_DEMO.clinicians[0].username
PATIENT_EMAIL = RIVERSIDE_DEMO.patients[0].email
DEFAULT_SIZES = (200, 2_000, 20_000)
SERVER_START_SECONDS = 30.0
SUBPROCESS_SECONDS = 600.0
SETTINGS_MODULE = "aftercare_bench_settings"
SETTINGS_SHIM = '''"""Aftercare's settings; static files go to the bench's scratch folder, and the
bench's reference page is served beside the app's."""

from config.settings import *  # noqa: F403

STATIC_ROOT = {static_root!r}
ROOT_URLCONF = "aftercare_bench_urls"
'''
URLS_SHIM = '''"""Aftercare's URLs, and the bench's reference page (only on its scratch server)."""

from django.urls import path

from config.urls import urlpatterns as app_urlpatterns
from recovery.management.commands.bench import signed_in_floor

urlpatterns = [path({path!r}, signed_in_floor), *app_urlpatterns]
'''
FLOOR_PATH = "/bench/signed-in-floor/"
# The growth aim: the dashboard at the largest size takes at most this many times its time
# at the smallest.
GROWTH_AIM = 1.5


# --- Figures ---------------------------------------------------------------------------


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The value `fraction` of the way through the sorted samples, interpolated between the
    two nearest (what numpy's default "linear" method gives): 0.5 is the median."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline > 0 else math.inf


def verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


@dataclass(frozen=True)
class Endpoint:
    key: str  # its name in --json
    label: str
    method: str
    expect: int  # the only status that counts as an answer
    aim: float | None = None  # its median at most this many times the baseline's


HEALTHZ = Endpoint("healthz", "/healthz (baseline)", "GET", 200)
# What every signed-in patient page costs before its own work (signed_in_floor): a
# reference, to read the pages' aims against, with no aim of its own.
SIGNED_IN_FLOOR = Endpoint("signed_in_floor", "signed-in floor (reference)", "GET", 200)
CHECK_IN_PAGE = Endpoint("check_in_page", "check-in page", "GET", 200, aim=3.0)
CHECK_IN_SUBMIT = Endpoint("check_in_submit", "submit a check-in", "POST", 302)
DASHBOARD = Endpoint("dashboard", "dashboard, first page", "GET", 200, aim=10.0)
TIMELINE = Endpoint("timeline", "a patient's timeline", "GET", 200, aim=10.0)


@dataclass(frozen=True)
class Latency:
    endpoint: Endpoint
    samples: tuple[float, ...]  # milliseconds
    sql: int | None = None  # queries of one request, counted in-process

    @property
    def median(self) -> float:
        return percentile(self.samples, 0.5)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)


@dataclass(frozen=True)
class Growth:
    patients: int  # generated by the bench so far
    clinic_patients: int  # of them and the demo's, those at the clinic whose dashboard is read
    sql: int
    in_process: tuple[float, ...]  # ms, Django's test client in the same process as the queries
    over_http: tuple[float, ...]  # ms, through gunicorn

    @property
    def in_process_median(self) -> float:
        return percentile(self.in_process, 0.5)

    @property
    def over_http_median(self) -> float:
        return percentile(self.over_http, 0.5)


@dataclass(frozen=True)
class Aim:
    text: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Report:
    database: str
    requests: int
    warmup: int
    latencies: tuple[Latency, ...]
    growth: tuple[Growth, ...]
    seconds: float
    page_load: PageLoad | None = None
    page_load_skipped: str = ""  # why there is no page_load, if so

    def baseline(self) -> Latency:
        return next(lat for lat in self.latencies if lat.endpoint == HEALTHZ)

    def times_baseline(self, latency: Latency) -> float:
        return ratio(latency.median, self.baseline().median)

    def meets_aim(self, latency: Latency) -> bool | None:
        """Whether the endpoint's median is under its aim; None if it has none."""
        aim = latency.endpoint.aim
        return None if aim is None else self.times_baseline(latency) < aim

    def aims(self) -> list[Aim]:
        aims = [
            Aim(
                f"{lat.endpoint.label} under {lat.endpoint.aim:g}× the baseline",
                bool(self.meets_aim(lat)),
                f"{self.times_baseline(lat):.1f}×",
            )
            for lat in self.latencies
            if lat.endpoint.aim is not None
        ]
        if self.growth:
            first, last = self.growth[0], self.growth[-1]
            sqls = [g.sql for g in self.growth]
            aims.append(
                Aim(
                    "dashboard: the same SQL count at every size",
                    len(set(sqls)) == 1,
                    " / ".join(str(n) for n in sqls),
                )
            )
            if len(self.growth) > 1:
                growth = ratio(last.over_http_median, first.over_http_median)
                aims.append(
                    Aim(
                        f"dashboard at {last.patients:,} patients at most {GROWTH_AIM:g}× its "
                        f"time at {first.patients:,}",
                        growth <= GROWTH_AIM,
                        f"{growth:.2f}× over HTTP, "
                        f"{ratio(last.in_process_median, first.in_process_median):.2f}× "
                        "in-process",
                    )
                )
        if self.page_load:
            kb = self.page_load.cold_kb
            aims.append(
                Aim(
                    f"check-in page under {WEIGHT_AIM_KB:g} KB compressed on a cold load",
                    kb < WEIGHT_AIM_KB,
                    f"{kb:.1f} KB",
                )
            )
        return aims

    def as_json(self) -> dict[str, Any]:
        first = self.growth[0].over_http_median if self.growth else math.nan
        return {
            "database": self.database,
            "requests": self.requests,
            "warmup": self.warmup,
            "seconds": round(self.seconds, 1),
            "endpoints": [
                {
                    "endpoint": lat.endpoint.key,
                    "method": lat.endpoint.method,
                    "requests": len(lat.samples),
                    "median_ms": round(lat.median, 2),
                    "p95_ms": round(lat.p95, 2),
                    "times_baseline": round(self.times_baseline(lat), 2),
                    "sql": lat.sql,
                    "aim_times_baseline": lat.endpoint.aim,
                    "passed": self.meets_aim(lat),
                }
                for lat in self.latencies
            ],
            "dashboard_growth": [
                {
                    "patients": g.patients,
                    "clinic_patients": g.clinic_patients,
                    "sql": g.sql,
                    "in_process_median_ms": round(g.in_process_median, 2),
                    "over_http_median_ms": round(g.over_http_median, 2),
                    "times_first_size": round(ratio(g.over_http_median, first), 2),
                }
                for g in self.growth
            ],
            # The check-in page in Chromium, or why it was skipped.
            "page_load": dataclasses.asdict(self.page_load)
            if self.page_load
            else self.page_load_skipped,
            "aims": [{"aim": a.text, "passed": a.passed, "detail": a.detail} for a in self.aims()],
        }

    def as_text(self) -> str:
        lines = [
            f"Aftercare bench: {self.database}, gunicorn with 1 sync worker on 127.0.0.1, up to "
            f"{self.requests} measured requests per endpoint, after {self.warmup} unmeasured.",
            "",
        ]
        if self.latencies:
            patients = f" at {self.growth[-1].patients:,} patients" if self.growth else ""
            lines.append(f"Latency{patients}, endpoints taken in turn:")
            rows = []
            for lat in self.latencies:
                meets = self.meets_aim(lat)
                rows.append(
                    [
                        lat.endpoint.label,
                        str(len(lat.samples)),
                        f"{lat.median:.1f}",
                        f"{lat.p95:.1f}",
                        f"{self.times_baseline(lat):.1f}×",
                        "" if lat.sql is None else str(lat.sql),
                        "" if lat.endpoint.aim is None else f"< {lat.endpoint.aim:g}×",
                        "" if meets is None else verdict(meets),
                    ]
                )
            lines.append(
                table(
                    ["endpoint", "n", "median ms", "p95 ms", "× baseline", "SQL", "aim", "ok"],
                    rows,
                    align="lrrrrrll",
                )
            )
            floor = next((lat for lat in self.latencies if lat.endpoint == SIGNED_IN_FLOOR), None)
            if floor is not None:
                lines += [
                    "The signed-in floor is what every signed-in patient page does before its",
                    "own work (the session and the patient, their treatment, an audit row, the",
                    f"smallest page): {self.times_baseline(floor):.1f}× the baseline.",
                ]
            lines.append("")
        if self.growth:
            first = self.growth[0]
            lines.append("How the dashboard's cost grows with the clinic (medians):")
            lines.append(
                table(
                    [
                        "patients",
                        "at the clinic",
                        "SQL",
                        "in-process ms",
                        "over-HTTP ms",
                        f"× time at {first.patients:,}",
                    ],
                    [
                        [
                            f"{g.patients:,}",
                            f"{g.clinic_patients:,}",
                            str(g.sql),
                            f"{g.in_process_median:.1f}",
                            f"{g.over_http_median:.1f}",
                            f"{ratio(g.over_http_median, first.over_http_median):.2f}×",
                        ]
                        for g in self.growth
                    ],
                    align="rrrrrr",
                )
            )
            lines.append("")
        if self.page_load or self.page_load_skipped:
            lines.append(f"The check-in page in Chromium (360×740), medians of {LOADS} loads:")
        if self.page_load:
            pl = self.page_load
            lines.append(
                table(
                    ["measure", "value", "aim", "ok"],
                    [
                        [
                            "transfer, cold load (document + resources)",
                            f"{pl.cold_kb:.1f} KB",
                            f"< {WEIGHT_AIM_KB:g} KB",
                            verdict(pl.cold_kb < WEIGHT_AIM_KB),
                        ],
                        [
                            f"  of which the HTML ({pl.document_encoding}), then {pl.resources} "
                            "resources",
                            f"{pl.document_kb:.1f} KB",
                            "",
                            "",
                        ],
                        [
                            "transfer, repeat visit (service worker)",
                            f"{pl.repeat_kb:.1f} KB",
                            "",
                            "",
                        ],
                        [
                            "first paint, cold load",
                            f"{percentile(pl.cold_paint_ms, 0.5):.0f} ms",
                            "",
                            "",
                        ],
                        [
                            "first paint, repeat visit (service worker)",
                            f"{percentile(pl.repeat_paint_ms, 0.5):.0f} ms",
                            "",
                            "",
                        ],
                    ],
                    align="lrll",
                )
            )
            lines.append("")
        elif self.page_load_skipped:
            lines.append(f"  skipped: {self.page_load_skipped}")
            lines.append("")
        aims = self.aims()
        lines.append("Aims:")
        lines.extend(f"  {verdict(a.passed)}  {a.text} ({a.detail})" for a in aims)
        missed = sum(not a.passed for a in aims)
        lines.append("")
        lines.append(
            f"{len(aims) - missed} of {len(aims)} aims met"
            + (
                " (a miss is reported, not failed: timings on a shared machine are noisy)"
                if missed
                else ""
            )
            + f"; the bench took {self.seconds:.0f} s."
        )
        return "\n".join(lines)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, align: str) -> str:
    """A plain-text table; `align` has an "l" or "r" per column."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if how == "l" else cell.rjust(width)
            for cell, width, how in zip(cells, widths, align, strict=True)
        ).rstrip()

    return "\n".join(
        [line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)]
    )


def parse_sizes(value: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes are whole numbers separated by commas, not {value!r}"
        ) from None
    if not sizes or sizes[0] < 1 or any(b <= a for a, b in zip(sizes, sizes[1:], strict=False)):
        raise argparse.ArgumentTypeError(f"sizes must be positive and increasing, not {value!r}")
    return sizes


# --- Over HTTP -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    location: str
    cookies: dict[str, str]
    body: bytes
    ms: float


def fetch(
    port: int,
    method: str,
    path: str,
    *,
    cookies: Mapping[str, str],
    form: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> Answer:
    """One request on a new connection (a sync worker closes each), timed to the body's end."""
    headers = {"Connection": "close"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    body = None
    if form is not None:
        body = urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    ms = (time.perf_counter() - started) * 1000
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return Answer(
        status=response.status,
        location=response.headers.get("Location", ""),
        cookies={name: morsel.value for name, morsel in jar.items()},
        body=data,
        ms=ms,
    )


def check_in_result_prefix() -> str:
    """Where a sent check-in redirects to, up to the check-in's id: "/check-ins/"."""
    zero = uuid.UUID(int=0)
    return reverse("check_in_result", kwargs={"public_id": zero}).split(str(zero))[0]


def refusal(endpoint: Endpoint, path: str, answer: Answer) -> str | None:
    """Why `answer` does not count as the endpoint working, or None if it does."""
    if answer.status == endpoint.expect:
        if endpoint == CHECK_IN_SUBMIT and not answer.location.startswith(check_in_result_prefix()):
            return (
                f"{endpoint.method} {path} ({endpoint.label}) redirected to "
                f"{answer.location or 'nowhere'}, not to the check-in's result."
            )
        return None
    where = f" to {answer.location}" if answer.location else ""
    message = (
        f"{endpoint.method} {path} ({endpoint.label}) answered {answer.status}{where}; "
        f"the bench needs {endpoint.expect}."
    )
    if answer.status == 404:
        message += " Is its view written yet? (The clinic's placeholder views answer 404.)"
    elif answer.status in (301, 302) and "sign-in" in answer.location:
        message += " The bench's session was not accepted."
    elif answer.status == 422:
        message += " The check-in form was refused; its fields may have changed."
    return message


def hidden_input(html: str, name: str) -> str:
    """The value of the form input called `name` in `html`."""
    for tag in re.findall(r"<input\b[^>]*>", html):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            found = re.search(r'\bvalue="([^"]*)"', tag)
            if found:
                return found.group(1)
    raise CommandError(f"The check-in page has no {name!r} input with a value.")


def check_in_form(*, csrf_token: str, date: str) -> dict[str, str]:
    """Today's answers, all "none" and no warning sign, under a fresh idempotency key."""
    form = {
        "csrfmiddlewaretoken": csrf_token,
        "date": date,
        "idempotency_key": str(uuid.uuid4()),
        "note": "",
    }
    form.update(dict.fromkeys(course.SYMPTOMS, "0"))
    form.update(dict.fromkeys(course.RED_FLAGS, "no"))
    return form


Request = Callable[[], Answer]


def take_turns(
    requests: Sequence[tuple[Endpoint, Request]],
    *,
    count: int,
    warmup: int,
    max_seconds: float,
) -> dict[Endpoint, list[float]]:
    """Each request in turn, `warmup` rounds unrecorded then up to `count` recorded rounds,
    stopping early (after at least one) once `max_seconds` have passed."""
    for _ in range(warmup):
        for _endpoint, send in requests:
            send()
    samples: dict[Endpoint, list[float]] = {endpoint: [] for endpoint, _ in requests}
    deadline = time.perf_counter() + max_seconds
    for done in range(count):
        if done and time.perf_counter() > deadline:
            break
        for endpoint, send in requests:
            samples[endpoint].append(send().ms)
    return samples


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- The scratch set-up ----------------------------------------------------------------


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def server_of(config: Mapping[str, Any]) -> dict[str, str]:
    """The connection parameters of a parsed DATABASE_URL's server (not its database)."""
    return {
        key: str(value)
        for key, value in {
            "host": config.get("HOST"),
            "port": config.get("PORT"),
            "user": config.get("USER"),
            "password": config.get("PASSWORD"),
        }.items()
        if value
    }


def postgres_unreachable(database_url: str) -> str:
    """Why the PostgreSQL server `database_url` names cannot be reached, or "" if it can."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    config = dj_database_url.parse(database_url)
    conninfo = make_conninfo(dbname="postgres", connect_timeout=5, **server_of(config))
    try:
        psycopg.connect(conninfo, autocommit=True).close()
    except psycopg.OperationalError as error:
        return " ".join(str(error).split()) or type(error).__name__
    return ""


@contextmanager
def scratch_database(database_url: str | None, folder: Path) -> Iterator[tuple[str, str]]:
    """(a DATABASE_URL, its description) for a database made for the run, then dropped."""
    if not database_url:
        yield f"sqlite:///{folder / 'bench.sqlite3'}", "SQLite (a temporary file)"
        return
    config = dj_database_url.parse(database_url)
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise CommandError(
            "--database-url must name a PostgreSQL database (postgres://…); "
            "without it the bench uses a temporary SQLite file."
        )
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = str(config.get("NAME") or "")
    if not name:
        raise CommandError(
            "--database-url must name the database to create, e.g. …/aftercare_bench"
        )
    maintenance = make_conninfo(dbname="postgres", **server_of(config))

    def on_server(statement: sql.SQL | sql.Composed, *params: str) -> bool:
        """Run `statement` on the server's maintenance database; whether it returned a row."""
        with psycopg.connect(maintenance, autocommit=True) as admin:
            cursor = admin.execute(statement, params or None)
            return cursor.description is not None and cursor.fetchone() is not None

    database = sql.Identifier(name)
    try:
        if on_server(sql.SQL("SELECT 1 FROM pg_database WHERE datname = %s"), name):
            raise CommandError(
                f"The database {name!r} already exists. The bench creates its own and drops it "
                f"afterwards: drop that one first (dropdb {name}) or name another."
            )
        on_server(sql.SQL("CREATE DATABASE {}").format(database))
    except psycopg.Error as error:
        raise CommandError(f"Could not create the bench's database {name!r}: {error}") from None
    try:
        yield database_url, f"PostgreSQL (database {name}, dropped afterwards)"
    finally:
        on_server(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))


class Workspace:
    """One run's scratch folder, database, settings and gunicorn, driven through subprocesses
    that see only the scratch database."""

    def __init__(self, *, folder: Path, database_url: str) -> None:
        self.folder = folder
        self.base_dir = Path(settings.BASE_DIR)
        (folder / f"{SETTINGS_MODULE}.py").write_text(
            SETTINGS_SHIM.format(static_root=str(folder / "static"))
        )
        (folder / "aftercare_bench_urls.py").write_text(URLS_SHIM.format(path=FLOOR_PATH[1:]))
        python_path = [str(folder), str(self.base_dir)]
        if os.environ.get("PYTHONPATH"):
            python_path.append(os.environ["PYTHONPATH"])
        # Production settings (config/settings.py reads them all), without TLS: loopback only.
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "PYTHONPATH": os.pathsep.join(python_path),
            "DATABASE_URL": database_url,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "SECURE_HSTS_SECONDS": "0",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "LOG_LEVEL": "WARNING",
        }
        self.server: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.server_log_path = folder / "gunicorn.log"

    def manage(self, *args: str) -> str:
        """`manage.py *args` on the scratch database; its output."""
        try:
            result = subprocess.run(
                [sys.executable, str(self.base_dir / "manage.py"), *args],
                cwd=self.base_dir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=SUBPROCESS_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CommandError(
                f"manage.py {' '.join(args)} took over {SUBPROCESS_SECONDS:g} s."
            ) from None
        if result.returncode != 0:
            raise CommandError(
                f"manage.py {' '.join(args)} failed (exit {result.returncode}):\n"
                + tail(result.stderr or result.stdout)
            )
        return result.stdout

    def probe(self, *, samples: int, warmup: int, max_seconds: float) -> dict[str, Any]:
        output = self.manage(
            "bench",
            "--probe",
            "--requests",
            str(samples),
            "--warmup",
            str(warmup),
            "--max-seconds",
            str(max_seconds),
        )
        try:
            probed: dict[str, Any] = json.loads(output)
        except ValueError:
            raise CommandError(f"The in-process probe printed no JSON:\n{tail(output)}") from None
        return probed

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """`manage.py *args` on the scratch database, started and left running."""
        return subprocess.Popen(
            [sys.executable, str(self.base_dir / "manage.py"), *args],
            cwd=self.base_dir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a Ctrl-C reaches the bench, which stops it
        )

    def start_server(self, *, workers: int = 1) -> None:
        self.port = free_port()
        with self.server_log_path.open("wb") as log:
            self.server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(workers),
                    "--worker-class",
                    "sync",
                    "--graceful-timeout",
                    "5",
                    "--no-control-socket",
                    "--log-level",
                    "warning",
                ],
                cwd=self.base_dir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C reaches the bench, which stops it
            )
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if self.server.poll() is not None:
                raise CommandError(
                    f"gunicorn stopped as it started (exit {self.server.returncode}):\n"
                    + self.server_log()
                )
            try:
                if fetch(self.port, "GET", reverse("healthz"), cookies={}, timeout=2).status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise CommandError(
                    f"gunicorn did not answer /healthz within {SERVER_START_SECONDS:g} s:\n"
                    + self.server_log()
                )
            time.sleep(0.1)

    def stop_server(self) -> None:
        if self.server is None or self.server.poll() is not None:
            return
        self.server.terminate()
        try:
            self.server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()

    def server_log(self) -> str:
        try:
            return tail(self.server_log_path.read_text(errors="replace"))
        except OSError:
            return ""

    def sender(
        self,
        endpoint: Endpoint,
        path: str,
        *,
        cookies: Mapping[str, str],
        form: Callable[[], dict[str, str]] | None = None,
    ) -> Request:
        """A request to `path` that stops the bench unless it answers as `endpoint` should."""

        def send() -> Answer:
            answer = fetch(
                self.port, endpoint.method, path, cookies=cookies, form=form() if form else None
            )
            problem = refusal(endpoint, path, answer)
            if problem:
                if answer.status >= 500:
                    problem += f"\nThe server's log ends with:\n{self.server_log()}"
                raise CommandError(problem)
            return answer

        return send


# --- In a browser (Playwright with Debian's Chromium) --------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WEIGHT_AIM_KB = 50.0  # the check-in page and everything it loads, compressed, on a cold load
LOADS = 5
# What the page measured of itself once loaded: bytes over the wire, and first paint.
PAGE_FIGURES = """() => ({
  entries: [...performance.getEntriesByType('navigation'),
            ...performance.getEntriesByType('resource')].map(e => ({
    transferSize: e.transferSize})),
  paint: Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime])),
})"""


def transfer_bytes(entries: Sequence[Mapping[str, float]]) -> int:
    """Bytes over the wire of a page's navigation and resource entries: their transferSize
    (headers and body as sent, so compressed if it was), 0 for what a cache or the service
    worker's Cache Storage answered."""
    return int(sum(e.get("transferSize", 0) for e in entries))


def first_paint(paint: Mapping[str, float]) -> float:
    return paint.get("first-contentful-paint", paint.get("first-paint", math.nan))


@dataclass(frozen=True)
class PageLoad:
    cold_kb: float  # document and resources, compressed as served
    document_kb: float
    document_encoding: str
    resources: int
    cold_paint_ms: tuple[float, ...]
    repeat_paint_ms: tuple[float, ...]  # with the service worker controlling the page
    repeat_kb: float


def load_in_browser(port: int, session: str) -> PageLoad:
    """The patient's check-in page, LOADS times cold (a fresh context: no cache, no service
    worker) then LOADS times again in one context once its service worker controls it."""
    from playwright.sync_api import BrowserContext, Page, sync_playwright

    url = f"http://127.0.0.1:{port}{reverse('check_in')}"

    def load(page: Page, *, again: bool = False) -> tuple[dict[str, Any], str]:
        response = page.reload() if again else page.goto(url)
        if response is None or response.status != 200:
            raise CommandError(f"In Chromium, GET {url} answered {response and response.status}.")
        page.wait_for_function("() => performance.getEntriesByType('paint').length > 0")
        return page.evaluate(PAGE_FIGURES), response.headers.get("content-encoding", "uncompressed")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        def context() -> BrowserContext:
            made = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
            made.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": url}])
            return made

        cold = []
        for _ in range(LOADS):
            with context() as fresh:
                cold.append(load(fresh.new_page()))
        with context() as warm:
            page = warm.new_page()
            load(page)
            page.evaluate("async () => { await navigator.serviceWorker.ready; }")
            page.reload()
            page.wait_for_function("() => navigator.serviceWorker.controller !== null")
            repeat = [load(page, again=True)[0] for _ in range(LOADS)]
        browser.close()
    figures, encoding = cold[len(cold) // 2]
    return PageLoad(
        cold_kb=percentile([transfer_bytes(f["entries"]) for f, _ in cold], 0.5) / 1024,
        document_kb=transfer_bytes(figures["entries"][:1]) / 1024,
        document_encoding=encoding,
        resources=len(figures["entries"]) - 1,
        cold_paint_ms=tuple(first_paint(f["paint"]) for f, _ in cold),
        repeat_paint_ms=tuple(first_paint(f["paint"]) for f in repeat),
        repeat_kb=percentile([transfer_bytes(f["entries"]) for f in repeat], 0.5) / 1024,
    )


# --- The reference page (served only by the scratch server's URLconf, URLS_SHIM) -------


def signed_in_floor(request: HttpRequest) -> HttpResponse:
    """What every signed-in patient page does before its own work: the session and the
    patient with their clinic, their current treatment, an audit row, and the smallest page
    (through the base template, its header and sign-out form)."""
    patient = access.patient_for_request(request)
    access.current_treatment(patient, today=patient.today())
    # What every signed-in patient page writes (recovery.views.patient.home does the same).
    audit.record(request, patient=patient, action=AuditAction.HOME_VIEWED)
    return render(
        request,
        "recovery/patient/refused.html",
        {"message": "The bench's reference page.", "clinic": patient.clinic},
    )


# --- In-process, on the scratch database (manage.py bench --probe) ---------------------


def probe(*, samples: int, warmup: int, max_seconds: float) -> dict[str, Any]:
    """Sessions for the bench, the SQL count of each page and the dashboard's in-process time,
    after refreshing PostgreSQL's planner statistics.

    Runs in a subprocess whose database is the scratch one.
    """
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from recovery.models import Clinician, Patient

    if connection.vendor == "postgresql":
        # Planner statistics for the rows just seeded, as autovacuum gathers them soon after a
        # bulk load in production (development servers often run without it). Without them
        # PostgreSQL plans the dashboard for the nearly empty tables it last saw.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    try:
        clinician = Clinician.objects.select_related("user", "clinic").get(
            user__username=CLINICIAN_USERNAME
        )
        patient = Patient.objects.select_related("user").get(
            clinic=clinician.clinic, email=PATIENT_EMAIL
        )
    except (Clinician.DoesNotExist, Patient.DoesNotExist):
        raise CommandError(
            "The demo's clinician or patient is missing: run `demo` first."
        ) from None
    # The timeline of the clinic's patient with the most check-ins.
    followed = (
        Patient.objects.filter(clinic=clinician.clinic)
        .annotate(check_ins=Count("treatments__check_ins"))
        .order_by("-check_ins", "pk")
        .values_list("public_id", flat=True)
        .first()
    )
    as_clinician = Client(SERVER_NAME="127.0.0.1")
    as_clinician.force_login(clinician.user)
    as_patient = Client(SERVER_NAME="127.0.0.1")
    as_patient.force_login(patient.user)
    pages = {
        CHECK_IN_PAGE: (as_patient, reverse("check_in")),
        DASHBOARD: (as_clinician, reverse("clinic:dashboard")),
        TIMELINE: (as_clinician, reverse("clinic:patient", kwargs={"public_id": followed})),
    }

    def get(endpoint: Endpoint) -> float:
        client, path = pages[endpoint]
        started = time.perf_counter()
        response = client.get(path)
        ms = (time.perf_counter() - started) * 1000
        answer = Answer(response.status_code, response.get("Location", ""), {}, b"", ms)
        problem = refusal(endpoint, path, answer)
        if problem:
            raise CommandError(problem)
        return ms

    sql = {}
    for endpoint in pages:
        for _ in range(warmup):
            get(endpoint)
        with CaptureQueriesContext(connection) as queries:
            get(endpoint)
        sql[endpoint.key] = len(queries.captured_queries)
    times = []
    deadline = time.perf_counter() + max_seconds
    for done in range(samples):
        if done and time.perf_counter() > deadline:
            break
        times.append(get(DASHBOARD))
    return {
        "clinic_patients": Patient.objects.filter(clinic=clinician.clinic).count(),
        "sessions": {
            "clinician": as_clinician.cookies[settings.SESSION_COOKIE_NAME].value,
            "patient": as_patient.cookies[settings.SESSION_COOKIE_NAME].value,
        },
        "timeline_patient": str(followed),
        "sql": sql,
        "dashboard_in_process_ms": times,
    }


# --- The command -----------------------------------------------------------------------


@contextmanager
def stopped_cleanly_by_sigterm() -> Iterator[None]:
    """A `kill` unwinds like Ctrl-C does, so gunicorn is stopped and the database dropped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class Run:
    sizes: tuple[int, ...]
    requests: int
    warmup: int
    max_seconds: float
    database_url: str | None
    say: Callable[[str], None]
    browser: bool = True
    growth: list[Growth] = field(default_factory=list)

    def __call__(self) -> Report:
        started = time.perf_counter()
        with ExitStack() as stack:
            folder = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="aftercare-bench-"))
            )
            database_url, database = stack.enter_context(
                scratch_database(self.database_url, folder)
            )
            self.say(f"Scratch database: {database}; migrating, collecting static files…")
            workspace = Workspace(folder=folder, database_url=database_url)
            workspace.manage("migrate", "--no-input", "--verbosity", "0")
            workspace.manage("collectstatic", "--no-input", "--verbosity", "0")
            stack.callback(workspace.stop_server)
            workspace.start_server()
            self.say(f"gunicorn answers on 127.0.0.1:{workspace.port}.")
            seeded = 0
            probed: dict[str, Any] = {}
            for step, size in enumerate(self.sizes):
                self.say(f"Seeding {size - seeded:,} more patients (demo --patients)…")
                workspace.manage(
                    "demo", "--patients", str(size - seeded), "--seed", str(2026 + step)
                )
                seeded = size
                self.say(f"Measuring the dashboard at {size:,} patients…")
                probed = workspace.probe(
                    samples=min(self.requests, 50), warmup=self.warmup, max_seconds=self.max_seconds
                )
                clinician = {settings.SESSION_COOKIE_NAME: probed["sessions"]["clinician"]}
                send = workspace.sender(DASHBOARD, reverse("clinic:dashboard"), cookies=clinician)
                over_http = take_turns(
                    [(DASHBOARD, send)],
                    count=self.requests,
                    warmup=self.warmup,
                    max_seconds=self.max_seconds,
                )
                self.growth.append(
                    Growth(
                        patients=size,
                        clinic_patients=probed["clinic_patients"],
                        sql=probed["sql"][DASHBOARD.key],
                        in_process=tuple(probed["dashboard_in_process_ms"]),
                        over_http=tuple(over_http[DASHBOARD]),
                    )
                )
            self.say(f"Measuring every endpoint in turn at {self.sizes[-1]:,} patients…")
            latencies = self.every_endpoint(workspace, probed)
            page_load, skipped = None, "no Chromium" if self.browser else "--no-browser"
            if self.browser and CHROMIUM.exists():
                self.say("Loading the check-in page in Chromium…")
                page_load = load_in_browser(workspace.port, probed["sessions"]["patient"])
        return Report(
            database=database,
            requests=self.requests,
            warmup=self.warmup,
            latencies=latencies,
            growth=tuple(self.growth),
            seconds=time.perf_counter() - started,
            page_load=page_load,
            page_load_skipped="" if page_load else skipped,
        )

    def every_endpoint(self, workspace: Workspace, probed: dict[str, Any]) -> tuple[Latency, ...]:
        clinician = {settings.SESSION_COOKIE_NAME: probed["sessions"]["clinician"]}
        patient = {settings.SESSION_COOKIE_NAME: probed["sessions"]["patient"]}
        check_in = reverse("check_in")
        # The form's CSRF token (and its cookie) and date, as a browser would get them.
        page = workspace.sender(CHECK_IN_PAGE, check_in, cookies=patient)()
        patient.update(page.cookies)
        html = page.body.decode()
        csrf_token, date = hidden_input(html, "csrfmiddlewaretoken"), hidden_input(html, "date")
        timeline = reverse("clinic:patient", kwargs={"public_id": probed["timeline_patient"]})
        requests = [
            (HEALTHZ, workspace.sender(HEALTHZ, reverse("healthz"), cookies={})),
            (SIGNED_IN_FLOOR, workspace.sender(SIGNED_IN_FLOOR, FLOOR_PATH, cookies=patient)),
            (CHECK_IN_PAGE, workspace.sender(CHECK_IN_PAGE, check_in, cookies=patient)),
            (
                CHECK_IN_SUBMIT,
                workspace.sender(
                    CHECK_IN_SUBMIT,
                    check_in,
                    cookies=patient,
                    form=lambda: check_in_form(csrf_token=csrf_token, date=date),
                ),
            ),
            (
                DASHBOARD,
                workspace.sender(DASHBOARD, reverse("clinic:dashboard"), cookies=clinician),
            ),
            (TIMELINE, workspace.sender(TIMELINE, timeline, cookies=clinician)),
        ]
        samples = take_turns(
            requests, count=self.requests, warmup=self.warmup, max_seconds=self.max_seconds
        )
        return tuple(
            Latency(endpoint, tuple(samples[endpoint]), sql=probed["sql"].get(endpoint.key))
            for endpoint, _ in requests
        )


class Command(BaseCommand):
    help = (
        "Measure, against gunicorn (one sync worker on 127.0.0.1) with production settings, "
        "the median and 95th-percentile latency of /healthz (the baseline), the signed-in "
        "floor (a reference page that does only what every signed-in page does), the patient's "
        "check-in page, sending a check-in, the clinic dashboard's first page and a patient's "
        "timeline, each also as a multiple of the baseline; the check-in page's compressed "
        "transfer size and first paint in Chromium, cold and with the service worker; and "
        "how the dashboard's time and SQL count grow from 200 to 2,000 to 20,000 patients "
        "(`demo --patients`). Runs on a scratch database made and dropped for the run (a "
        "temporary SQLite file, or the PostgreSQL database --database-url names), never on "
        "the project's own. Aims are printed PASS or MISS; a miss does not fail the command, "
        "an endpoint answering anything but its expected status does. Then a concurrent run, "
        "on SQLite and on PostgreSQL (--concurrent-postgres; skipped if its server is "
        "unreachable, unless CI is set), each on a scratch database of its own, against "
        "gunicorn with 4 sync workers while manage.py sweep loops in another process: 50 "
        "patients' check-ins at once, 20 replays of one submission, 20 pairs of a missed "
        "yesterday's and today's check-in, 20 resolves racing a red-flag check-in; then the "
        "rows are checked against what was sent and recounted. Any 5xx or other unexpected "
        "answer, and any row not as expected, fails the command."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sizes",
            type=parse_sizes,
            default=DEFAULT_SIZES,
            metavar="N,N,…",
            help="Clinic sizes, in generated patients, increasing (default 200,2000,20000).",
        )
        parser.add_argument(
            "--requests",
            type=int,
            default=200,
            metavar="N",
            help="Requests measured per endpoint and size, after the warm-ups (default 200).",
        )
        parser.add_argument(
            "--warmup",
            type=int,
            default=5,
            metavar="N",
            help="Unmeasured requests per endpoint first (default 5).",
        )
        parser.add_argument(
            "--max-seconds",
            type=float,
            default=60.0,
            metavar="S",
            help="Stop each measuring loop after this long, with what it has (default 60).",
        )
        parser.add_argument(
            "--database-url",
            metavar="URL",
            help="A PostgreSQL database for the bench to create and drop, e.g. "
            "postgres://postgres@127.0.0.1:5432/aftercare_bench (default: a temporary SQLite "
            "file).",
        )
        parser.add_argument(
            "--no-browser",
            action="store_true",
            help="Skip loading the check-in page in Chromium (its weight and first paint).",
        )
        parser.add_argument("--no-concurrent", action="store_true", help="Skip the concurrent run.")
        parser.add_argument(
            "--concurrent-only",
            action="store_true",
            help="Only the concurrent run (no latencies, no growth, no browser).",
        )
        parser.add_argument(
            "--concurrent-postgres",
            metavar="URL",
            default=None,
            help="The PostgreSQL database the concurrent run creates and drops (default "
            "postgres://postgres@127.0.0.1:5432/aftercare_bench_concurrent).",
        )
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
        parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument(
            "--concurrent-step", choices=["setup", "sweep", "check"], help=argparse.SUPPRESS
        )
        parser.add_argument("--concurrent-input", type=Path, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["requests"] < 1 or options["warmup"] < 0 or options["max_seconds"] <= 0:
            raise CommandError(
                "--requests must be 1 or more, --warmup 0 or more, --max-seconds > 0."
            )
        if options["probe"]:
            result = probe(
                samples=options["requests"],
                warmup=options["warmup"],
                max_seconds=options["max_seconds"],
            )
            self.stdout.write(json.dumps(result))
            return
        if options["concurrent_step"]:
            from recovery.management.commands import _bench_concurrent

            step = _bench_concurrent.run_step(
                options["concurrent_step"], options["concurrent_input"]
            )
            self.stdout.write(json.dumps(step))
            return
        if options["no_concurrent"] and options["concurrent_only"]:
            raise CommandError("--no-concurrent and --concurrent-only leave nothing to run.")
        self.stderr.style_func = None  # progress, in plain text

        started = time.perf_counter()

        def say(message: str) -> None:
            if options["verbosity"] >= 1:
                self.stderr.write(f"[{time.perf_counter() - started:4.0f} s] {message}")

        run = Run(
            sizes=options["sizes"],
            requests=options["requests"],
            warmup=options["warmup"],
            max_seconds=options["max_seconds"],
            database_url=options["database_url"],
            say=say,
            browser=not options["no_browser"],
        )
        report: Report | None = None
        concurrent: list[ConcurrentReport] = []
        try:
            with stopped_cleanly_by_sigterm():
                if not options["concurrent_only"]:
                    report = run()
                if not options["no_concurrent"]:
                    from recovery.management.commands._bench_concurrent import (
                        DEFAULT_POSTGRES_URL,
                        ConcurrentRun,
                    )

                    concurrently = ConcurrentRun(say=say)
                    concurrent.append(concurrently(None))
                    concurrent.append(
                        concurrently.on_postgres(
                            options["concurrent_postgres"] or DEFAULT_POSTGRES_URL
                        )
                    )
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted: gunicorn stopped, the scratch database dropped.", returncode=130
            ) from None
        if options["json"]:
            figures = report.as_json() if report else {}
            if concurrent:
                figures["concurrent"] = [c.as_json() for c in concurrent]
            self.stdout.write(json.dumps(figures, indent=2))
        else:
            texts = ([report.as_text()] if report else []) + [c.as_text() for c in concurrent]
            self.stdout.write("\n\n".join(texts))
        failed = [c.database.split(" (")[0] for c in concurrent if c.failed]
        if failed:
            raise CommandError(
                f"The concurrent run failed on {' and '.join(failed)}: an HTTP error, a row not "
                "as expected, a failed sweep or no PostgreSQL in CI (see above)."
            )
