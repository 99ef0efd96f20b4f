"""`make bench`, i.e. `python -m scripts.bench`: the latencies (scripts/bench/latency.py),
then the concurrent run (scripts/bench/concurrent_run.py); `--help` says what it measures.

The same entry point runs the steps that read or write the scratch database, in
subprocesses whose settings are the bench's (--probe, --concurrent-step).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from scripts.bench.concurrent_run import DEFAULT_POSTGRES_URL, ConcurrentReport, ConcurrentRun
from scripts.bench.concurrent_run import run_step as concurrent_step
from scripts.bench.latency import (
    DEFAULT_SIZES,
    Report,
    Run,
    parse_sizes,
    probe,
    stopped_cleanly_by_sigterm,
)
from scripts.bench.workspace import BenchFailed

HELP = (
    "Measure, against gunicorn (one sync worker on 127.0.0.1) with production settings, "
    "the median and 95th-percentile latency of /healthz (the baseline), the signed-in "
    "floor (a reference page that does only what every signed-in page does), the patient's "
    "check-in page, sending a check-in, the clinic dashboard's first page and a patient's "
    "timeline, each also as a multiple of the baseline; the check-in page's compressed "
    "transfer size and first paint in Chromium, cold and with the service worker; and "
    "how the dashboard's time and SQL count grow from 200 to 2,000 to 20,000 patients "
    "(`demo --patients`). Runs on a scratch database made and dropped for the run (a "
    "temporary SQLite file, or the PostgreSQL database --database-url names), never on "
    "the project's own. Aims are printed PASS or MISS; a miss does not fail the bench, "
    "an endpoint answering anything but its expected status does. Then a concurrent run, "
    "on SQLite and on PostgreSQL (--concurrent-postgres; skipped if its server is "
    "unreachable, unless CI is set), each on a scratch database of its own, against "
    "gunicorn with 4 sync workers while manage.py sweep loops in another process: 50 "
    "patients' check-ins at once, 20 replays of one submission, 20 pairs of a missed "
    "yesterday's and today's check-in, 20 resolves racing a red-flag check-in; then the "
    "rows are checked against what was sent and recounted. Any 5xx or other unexpected "
    "answer, and any row not as expected, fails the bench."
)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=HELP)
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

    parser.add_argument(
        "-v",
        "--verbosity",
        type=int,
        choices=[0, 1, 2, 3],
        default=1,
        help="0: only the figures; 1 (the default) or more: also the progress, on standard error.",
    )
    return parser


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the bench as `argv` says, print what it found; its exit status: 1 if it could
    not run or the concurrent run failed, 130 if it was interrupted."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    options = parser().parse_args(argv)
    try:
        return run(options, out=out, err=err)
    except BenchFailed as failed:
        err.write(f"{failed}\n")
        return failed.returncode


def run(options: argparse.Namespace, *, out: TextIO, err: TextIO) -> int:
    if options.requests < 1 or options.warmup < 0 or options.max_seconds <= 0:
        raise BenchFailed("--requests must be 1 or more, --warmup 0 or more, --max-seconds > 0.")
    if options.probe:
        result = probe(
            samples=options.requests, warmup=options.warmup, max_seconds=options.max_seconds
        )
        out.write(json.dumps(result))
        return 0
    if options.concurrent_step:
        out.write(json.dumps(concurrent_step(options.concurrent_step, options.concurrent_input)))
        return 0
    if options.no_concurrent and options.concurrent_only:
        raise BenchFailed("--no-concurrent and --concurrent-only leave nothing to run.")

    started = time.perf_counter()

    def say(message: str) -> None:
        if options.verbosity >= 1:
            err.write(f"[{time.perf_counter() - started:4.0f} s] {message}\n")
            err.flush()

    latencies = Run(
        sizes=options.sizes,
        requests=options.requests,
        warmup=options.warmup,
        max_seconds=options.max_seconds,
        database_url=options.database_url,
        say=say,
        browser=not options.no_browser,
    )
    report: Report | None = None
    concurrent: list[ConcurrentReport] = []
    try:
        with stopped_cleanly_by_sigterm():
            if not options.concurrent_only:
                report = latencies()
            if not options.no_concurrent:
                concurrently = ConcurrentRun(say=say)
                concurrent.append(concurrently(None))
                concurrent.append(
                    concurrently.on_postgres(options.concurrent_postgres or DEFAULT_POSTGRES_URL)
                )
    except KeyboardInterrupt:
        raise BenchFailed(
            "Interrupted: gunicorn stopped, the scratch database dropped.", returncode=130
        ) from None
    if options.json:
        figures = report.as_json() if report else {}
        if concurrent:
            figures["concurrent"] = [c.as_json() for c in concurrent]
        out.write(json.dumps(figures, indent=2) + "\n")
    else:
        texts = ([report.as_text()] if report else []) + [c.as_text() for c in concurrent]
        out.write("\n\n".join(texts) + "\n")
    failed = [c.database.split(" (")[0] for c in concurrent if c.failed]
    if failed:
        raise BenchFailed(
            f"The concurrent run failed on {' and '.join(failed)}: an HTTP error, a row not "
            "as expected, a failed sweep or no PostgreSQL in CI (see above)."
        )
    return 0
