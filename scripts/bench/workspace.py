"""The bench's scratch set-up: a database made for the run and dropped after it, the
app's commands run on it in subprocesses, gunicorn serving it on loopback, and plain
HTTP requests to that server.

The subprocesses see only the scratch database, with production settings (DEBUG off, a
random SECRET_KEY, no emails) through the bench's settings module
(scripts/bench/settings.py): the app's own, static files collected into the run's
folder, and the bench's reference page beside the app's URLs.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import dj_database_url
from django.conf import settings
from django.urls import reverse

SETTINGS_MODULE = "scripts.bench.settings"
SERVER_START_SECONDS = 30.0
SUBPROCESS_SECONDS = 600.0


class BenchFailed(Exception):
    """The bench cannot go on, or what it ran failed; the message says why."""

    def __init__(self, message: str, *, returncode: int = 1) -> None:
        super().__init__(message)
        self.returncode = returncode


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
        raise BenchFailed(
            "--database-url must name a PostgreSQL database (postgres://…); "
            "without it the bench uses a temporary SQLite file."
        )
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = str(config.get("NAME") or "")
    if not name:
        raise BenchFailed("--database-url must name the database to create, e.g. …/aftercare_bench")
    maintenance = make_conninfo(dbname="postgres", **server_of(config))

    def on_server(statement: sql.SQL | sql.Composed, *params: str) -> bool:
        """Run `statement` on the server's maintenance database; whether it returned a row."""
        with psycopg.connect(maintenance, autocommit=True) as admin:
            cursor = admin.execute(statement, params or None)
            return cursor.description is not None and cursor.fetchone() is not None

    database = sql.Identifier(name)
    try:
        if on_server(sql.SQL("SELECT 1 FROM pg_database WHERE datname = %s"), name):
            raise BenchFailed(
                f"The database {name!r} already exists. The bench creates its own and drops it "
                f"afterwards: drop that one first (dropdb {name}) or name another."
            )
        on_server(sql.SQL("CREATE DATABASE {}").format(database))
    except psycopg.Error as error:
        raise BenchFailed(f"Could not create the bench's database {name!r}: {error}") from None
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
        python_path = [str(self.base_dir)]
        if os.environ.get("PYTHONPATH"):
            python_path.append(os.environ["PYTHONPATH"])
        # Production settings (config/settings.py reads them all), without TLS: loopback only.
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "BENCH_STATIC_ROOT": str(folder / "static"),
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
        return self._run(
            [str(self.base_dir / "manage.py"), *args], what=f"manage.py {' '.join(args)}"
        )

    def bench(self, *args: str) -> str:
        """`python -m scripts.bench *args` (one of the bench's steps that read or write rows)
        on the scratch database; its output."""
        return self._run(
            ["-m", "scripts.bench", *args], what=f"python -m scripts.bench {' '.join(args)}"
        )

    def _run(self, command: list[str], *, what: str) -> str:
        try:
            result = subprocess.run(
                [sys.executable, *command],
                cwd=self.base_dir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=SUBPROCESS_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BenchFailed(f"{what} took over {SUBPROCESS_SECONDS:g} s.") from None
        if result.returncode != 0:
            raise BenchFailed(
                f"{what} failed (exit {result.returncode}):\n"
                + tail(result.stderr or result.stdout)
            )
        return result.stdout

    def probe(self, *, samples: int, warmup: int, max_seconds: float) -> dict[str, Any]:
        output = self.bench(
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
            raise BenchFailed(f"The in-process probe printed no JSON:\n{tail(output)}") from None
        return probed

    def spawn_bench(self, *args: str) -> subprocess.Popen[str]:
        """`python -m scripts.bench *args` on the scratch database, started and left running."""
        return subprocess.Popen(
            [sys.executable, "-m", "scripts.bench", *args],
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
                raise BenchFailed(
                    f"gunicorn stopped as it started (exit {self.server.returncode}):\n"
                    + self.server_log()
                )
            try:
                if fetch(self.port, "GET", reverse("healthz"), cookies={}, timeout=2).status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise BenchFailed(
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
