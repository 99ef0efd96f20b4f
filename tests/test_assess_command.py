"""`manage.py assess FILE`: the recovery course applied to a JSON timeline."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import connections

from recovery.models import Product

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent


def check_in(date: object, **fields: Any) -> dict[str, Any]:
    """A check-in with the four required symptoms at 0 unless given."""
    return {"date": date, "swelling": 0, "redness": 0, "bruising": 0, "lumps": 0, **fields}


def timeline(*check_ins: object, **fields: Any) -> dict[str, Any]:
    return {"treated_on": "2026-11-01", "check_ins": list(check_ins), **fields}


@pytest.fixture(autouse=True)
def products() -> None:
    # The data migration makes these; a test database without it still gets them.
    for code, name in [("bellafill", "Bellafill"), ("dermal-filler", "Dermal filler")]:
        Product.objects.get_or_create(code=code, defaults={"name": name})
    Product.objects.create(
        code="slow-filler",
        name="A filler a clinic gave a slower course",
        early_days=5,
        typical_days=10,
        expected_max_days=21,
        diary_days=40,
    )


def write(tmp_path: Path, data: object) -> str:
    path = tmp_path / "timeline.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def assess(tmp_path: Path, data: object) -> tuple[list[dict[str, Any]], str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("assess", write(tmp_path, data), stdout=stdout, stderr=stderr)
    return json.loads(stdout.getvalue()), stderr.getvalue()


def test_assesses_each_check_in_in_date_order(tmp_path: Path) -> None:
    data = timeline(
        check_in("2026-11-17", lumps=1),
        check_in("2026-11-02", swelling=2, redness=1, pain=0, itching=0, red_flags=[]),
        check_in("2026-11-16", lumps=1),
        check_in("2026-11-05", swelling=1, redness=2),
        check_in("2026-11-06", red_flags=["infection", "skin_color"]),
    )
    results, summary = assess(tmp_path, data)
    assert results == [
        {"date": "2026-11-02", "day": 1, "status": "on_track", "reasons": []},
        {
            "date": "2026-11-05",
            "day": 4,
            "status": "contact_clinic",
            "reasons": ["worsening:redness"],
        },
        {
            "date": "2026-11-06",
            "day": 5,
            "status": "urgent",
            "reasons": ["red_flag:skin_color", "red_flag:infection"],
        },
        {"date": "2026-11-16", "day": 15, "status": "watch", "reasons": ["worsening:lumps"]},
        {
            "date": "2026-11-17",
            "day": 16,
            "status": "contact_clinic",
            "reasons": ["persisting:lumps"],
        },
    ]
    assert summary == (
        "Assessed 5 check-ins of bellafill treated on 2026-11-01:"
        " 1 urgent, 2 contact_clinic, 1 watch, 1 on_track.\n"
    )


def test_pain_itching_and_red_flags_may_be_left_out(tmp_path: Path) -> None:
    data = timeline(check_in("2026-11-20", swelling=0, redness=0, bruising=0, lumps=0))
    results, _ = assess(tmp_path, data)
    assert results == [{"date": "2026-11-20", "day": 19, "status": "on_track", "reasons": []}]


def test_the_last_diary_day_and_the_treatment_day_are_in_the_diary(tmp_path: Path) -> None:
    data = timeline(check_in("2026-12-01", itching=1), check_in("2026-11-01", swelling=3))
    results, _ = assess(tmp_path, data)
    assert results == [
        {
            "date": "2026-11-01",
            "day": 0,
            "status": "contact_clinic",
            "reasons": ["severe:swelling"],
        },
        {"date": "2026-12-01", "day": 30, "status": "watch", "reasons": ["worsening:itching"]},
    ]


def test_no_check_ins_is_an_empty_list(tmp_path: Path) -> None:
    assert assess(tmp_path, timeline()) == (
        [],
        "Assessed 0 check-ins of bellafill treated on"
        " 2026-11-01: 0 urgent, 0 contact_clinic, 0 watch,"
        " 0 on_track.\n",
    )


def test_verbosity_0_prints_no_summary(tmp_path: Path) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("assess", write(tmp_path, timeline()), verbosity=0, stdout=stdout, stderr=stderr)
    assert (json.loads(stdout.getvalue()), stderr.getvalue()) == ([], "")


def test_the_course_values_come_from_the_product_in_the_database(tmp_path: Path) -> None:
    # Day 8 moderate swelling is slow to improve on the default course (typical 7 days).
    data = timeline(check_in("2026-11-09", swelling=2))
    assert assess(tmp_path, data)[0][0]["status"] == "watch"
    assert assess(tmp_path, {**data, "product": "dermal-filler"})[0][0]["status"] == "watch"
    assert assess(tmp_path, {**data, "product": "slow-filler"})[0][0]["status"] == "on_track"
    Product.objects.filter(code="bellafill").update(typical_days=8)
    assert assess(tmp_path, data)[0][0]["status"] == "on_track"


def test_a_longer_diary_accepts_later_check_ins(tmp_path: Path) -> None:
    data = timeline(check_in("2026-12-11", swelling=1), product="slow-filler")
    results, _ = assess(tmp_path, data)
    assert results == [
        {
            "date": "2026-12-11",
            "day": 40,
            "status": "contact_clinic",
            "reasons": ["persisting:swelling"],
        }
    ]


def test_reads_standard_input(tmp_path: Path) -> None:
    stdout = io.StringIO()
    data = json.dumps(timeline(check_in("2026-11-04", bruising=1, red_flags=["vision"])))
    call_command("assess", "-", stdin=io.StringIO(data), stdout=stdout, stderr=io.StringIO())
    assert json.loads(stdout.getvalue()) == [
        {"date": "2026-11-04", "day": 3, "status": "urgent", "reasons": ["red_flag:vision"]}
    ]


def test_help_states_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    execute_from_command_line(["manage.py", "help", "assess"])
    help_text = " ".join(capsys.readouterr().out.split())
    for words in [
        "urgent for any red flag",
        "contact_clinic for a symptom rated 3",
        "after day 14",
        "after day 7",
        "otherwise on_track",
        "exits with status 2",
    ]:
        assert words in help_text


# Invalid input: exit status 2, a message on stderr, nothing on stdout.

CHECK_IN = check_in("2026-11-02")
INVALID = [
    pytest.param(
        "{not json", "timeline.json: not valid JSON: Expecting property name", id="malformed JSON"
    ),
    pytest.param("", "timeline.json: not valid JSON: Expecting value", id="empty file"),
    pytest.param([CHECK_IN], "input: must be a JSON object, got array", id="a list, not an object"),
    pytest.param(
        '"text"', "input: must be a JSON object, got string", id="a string, not an object"
    ),
    pytest.param({"check_ins": []}, "treated_on: missing", id="no treatment date"),
    pytest.param({"treated_on": "2026-11-01"}, "check_ins: missing", id="no check-ins"),
    pytest.param(
        timeline() | {"check_ins": {"date": "2026-11-02"}},
        "check_ins: must be an array, got object",
        id="check-ins not a list",
    ),
    pytest.param(
        timeline("2026-11-02"),
        "check_ins[0]: must be an object, got string",
        id="a check-in not an object",
    ),
    pytest.param(
        timeline(CHECK_IN, {"swelling": 0, "redness": 0, "bruising": 0, "lumps": 0}),
        "check_ins[1].date: missing",
        id="a check-in without a date",
    ),
    pytest.param(
        timeline(CHECK_IN, check_in("2026-11-03") | {"lumps": None}),
        "check_ins[1].lumps: must be an integer 0-3, got null",
        id="a null rating",
    ),
    *(
        pytest.param(
            timeline({k: v for k, v in CHECK_IN.items() if k != symptom}),
            f"check_ins[0].{symptom}: missing (a rating 0-3 is required)",
            id=f"{symptom} missing",
        )
        for symptom in ["swelling", "redness", "bruising", "lumps"]
    ),
    pytest.param(
        timeline(
            *[check_in(f"2026-11-0{d}") for d in range(1, 4)], check_in("2026-11-04", swelling=5)
        ),
        "check_ins[3].swelling: must be an integer 0-3, got 5",
        id="a rating above 3",
    ),
    pytest.param(
        timeline(check_in("2026-11-02", pain=-1)),
        "check_ins[0].pain: must be an integer 0-3, got -1",
        id="a rating below 0",
    ),
    pytest.param(
        timeline(check_in("2026-11-02", itching=1.5)),
        "check_ins[0].itching: must be an integer 0-3, got 1.5",
        id="a fractional rating",
    ),
    pytest.param(
        timeline(check_in("2026-11-02", redness=2.0)),
        "check_ins[0].redness: must be an integer 0-3, got 2.0",
        id="a rating written as a decimal",
    ),
    pytest.param(
        timeline(check_in("2026-11-02", bruising="2")),
        'check_ins[0].bruising: must be an integer 0-3, got "2"',
        id="a rating as text",
    ),
    pytest.param(
        timeline(check_in("2026-11-02", swelling=True)),
        "check_ins[0].swelling: must be an integer 0-3, got true",
        id="a boolean rating",
    ),
    pytest.param(
        timeline(check_in("2026-11-02", red_flags=["vision", "headache"])),
        'check_ins[0].red_flags[1]: unknown red flag "headache" (known: skin_color,',
        id="an unknown red flag",
    ),
    pytest.param(
        timeline(check_in("2026-11-02", red_flags="vision")),
        "check_ins[0].red_flags: must be an array, got string",
        id="red flags not a list",
    ),
    pytest.param(
        timeline(check_in("2026-11-02", red_flags=[True])),
        "check_ins[0].red_flags[0]: unknown red flag true",
        id="a red flag not a string",
    ),
    pytest.param(
        timeline(check_in("2026-11-02", itchng=1)),
        'check_ins[0]: unknown field "itchng"',
        id="a misspelt symptom",
    ),
    pytest.param(
        timeline(CHECK_IN, product="juvederm"),
        'product: unknown product "juvederm" (known: bellafill, dermal-filler, slow-filler)',
        id="an unknown product",
    ),
    pytest.param(
        timeline(CHECK_IN, product=None),
        "product: must be a string, got null",
        id="a product not a string",
    ),
    pytest.param(
        timeline(CHECK_IN, check_in("2026-11-03"), check_in("2026-11-02", swelling=1)),
        "check_ins[2].date: check_ins[0] is on the same date 2026-11-02",
        id="two check-ins on one date",
    ),
    pytest.param(
        timeline(CHECK_IN, check_in("2026-10-31")),
        "check_ins[1].date: 2026-10-31 is before the treatment on 2026-11-01",
        id="a check-in before the treatment",
    ),
    pytest.param(
        timeline(check_in("2026-12-02")),
        "check_ins[0].date: 2026-12-02 is day 31, after the diary (day 0 to 30 for bellafill)",
        id="a check-in after the diary",
    ),
    pytest.param(
        timeline(check_in("2026-11-31")),
        'check_ins[0].date: must be a date YYYY-MM-DD, got "2026-11-31"',
        id="a date that does not exist",
    ),
    pytest.param(
        timeline(check_in("02/11/2026")),
        'check_ins[0].date: must be a date YYYY-MM-DD, got "02/11/2026"',
        id="a date in another format",
    ),
    pytest.param(
        timeline(check_in("20261102")),
        'check_ins[0].date: must be a date YYYY-MM-DD, got "20261102"',
        id="a date without dashes",
    ),
    pytest.param(
        timeline(check_in(20261102)),
        "check_ins[0].date: must be a date YYYY-MM-DD, got 20261102",
        id="a date as a number",
    ),
    pytest.param(
        timeline() | {"treated_on": "1 Nov 2026"},
        'treated_on: must be a date YYYY-MM-DD, got "1 Nov 2026"',
        id="a bad treatment date",
    ),
    pytest.param(
        timeline() | {"patient": "Ann"},
        'input: unknown field "patient"',
        id="an unknown top-level field",
    ),
]


@pytest.mark.parametrize(("data", "message"), INVALID)
def test_invalid_input_with_call_command(tmp_path: Path, data: object, message: str) -> None:
    stdout = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("assess", write(tmp_path, data), stdout=stdout, stderr=io.StringIO())
    assert excinfo.value.returncode == 2
    assert message in str(excinfo.value)
    assert stdout.getvalue() == ""


@pytest.fixture
def no_connection_close(monkeypatch: pytest.MonkeyPatch) -> None:
    # The command line closes database connections when done; the test's
    # transaction needs its connection until the test ends.
    monkeypatch.setattr(connections, "close_all", lambda: None)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `manage.py assess` in-process as from the command line: exit status, stdout, stderr."""
    try:
        execute_from_command_line(["manage.py", "assess", "--skip-checks", *argv])
        status = 0
    except SystemExit as error:
        status = error.code if isinstance(error.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.usefixtures("no_connection_close")
@pytest.mark.parametrize(("data", "message"), INVALID)
def test_invalid_input_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: object, message: str
) -> None:
    status, out, err = run([write(tmp_path, data)], capsys)
    assert (status, out) == (2, "")
    assert err.startswith("CommandError: ")
    assert err.endswith("\n")
    assert message in err


@pytest.mark.usefixtures("no_connection_close")
def test_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.json"
    status, out, err = run([str(missing)], capsys)
    assert (status, out) == (2, "")
    assert err == f"CommandError: {missing}: cannot read: No such file or directory\n"


@pytest.mark.usefixtures("no_connection_close")
def test_a_directory_is_not_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run([str(tmp_path)], capsys)
    assert (status, out) == (2, "")
    assert err.startswith(f"CommandError: {tmp_path}: cannot read: ")


@pytest.mark.usefixtures("no_connection_close")
def test_a_file_that_is_not_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "timeline.json"
    path.write_bytes(b"\xff\xfe{}")
    status, out, err = run([str(path)], capsys)
    assert (status, out, err) == (2, "", f"CommandError: {path}: not UTF-8 text\n")


@pytest.mark.usefixtures("no_connection_close")
def test_the_command_line_prints_json_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run([write(tmp_path, timeline(CHECK_IN))], capsys)
    assert status == 0
    assert json.loads(out) == [
        {"date": "2026-11-02", "day": 1, "status": "on_track", "reasons": []}
    ]
    assert err == (
        "Assessed 1 check-in of bellafill treated on 2026-11-01:"
        " 0 urgent, 0 contact_clinic, 0 watch, 1 on_track.\n"
    )


# As a separate process, reading standard input, against a migrated database of its own
# (the test database lives in this process's memory).


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('assess') / 'db.sqlite3'}"
    done = manage("migrate", "--verbosity", "0", database_url=url)
    assert done.returncode == 0, done.stderr
    yield url


def manage(*argv: str, database_url: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url},
        timeout=60,
        check=False,
    )


def test_subprocess_reads_standard_input(database_url: str) -> None:
    data = timeline(
        check_in("2026-11-16", lumps=1),
        check_in("2026-11-17", lumps=1),
        product="dermal-filler",
    )
    done = manage("assess", "-", database_url=database_url, stdin=json.dumps(data))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {
            "date": "2026-11-16",
            "day": 15,
            "status": "contact_clinic",
            "reasons": ["persisting:lumps"],
        },
        {
            "date": "2026-11-17",
            "day": 16,
            "status": "contact_clinic",
            "reasons": ["persisting:lumps"],
        },
    ]


def test_subprocess_invalid_standard_input_exits_2_and_prints_nothing(database_url: str) -> None:
    data = timeline(check_in("2026-11-02"), check_in("2026-11-03", swelling=True))
    done = manage("assess", "-", database_url=database_url, stdin=json.dumps(data))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "CommandError: check_ins[1].swelling: must be an integer 0-3, got true\n"
    )


def test_subprocess_missing_file_exits_2(database_url: str, tmp_path: Path) -> None:
    done = manage("assess", str(tmp_path / "nowhere.json"), database_url=database_url)
    assert (done.returncode, done.stdout) == (2, "")
    assert "nowhere.json: cannot read: No such file or directory" in done.stderr


# The long-term check-ins (issue 13) ------------------------------------------------------


def assess_object(tmp_path: Path, data: object) -> dict[str, Any]:
    stdout = io.StringIO()
    call_command("assess", write(tmp_path, data), stdout=stdout, stderr=io.StringIO())
    result: dict[str, Any] = json.loads(stdout.getvalue())
    return result


def test_late_checks_get_the_watchs_standing_and_due_date(tmp_path: Path) -> None:
    result = assess_object(
        tmp_path,
        timeline(
            check_in("2026-11-02"),
            late_checks=[
                {"date": "2027-01-02", "lump": False},
                {"date": "2027-02-03", "lump": True, "context": ["recent_dental_work"]},
            ],
            today="2027-02-10",
        ),
    )
    assert [c["status"] for c in result["check_ins"]] == ["on_track"]
    assert result["long_term"] == {
        "today": "2027-02-10",
        "standing": "answered_yes",
        "due_on": "2027-02-01",
        "late_checks": [
            {
                "date": "2027-01-02",
                "lump": False,
                "context": [],
                "standing": "up_to_date",
                "due_on": "2027-01-01",
            },
            {
                "date": "2027-02-03",
                "lump": True,
                "context": ["recent_dental_work"],
                "standing": "answered_yes",
                "due_on": "2027-02-01",
            },
        ],
    }


def test_no_late_check_by_today_is_due_then_overdue(tmp_path: Path) -> None:
    due = assess_object(tmp_path, timeline(late_checks=[], today="2027-01-05"))
    assert (due["long_term"]["standing"], due["long_term"]["due_on"]) == ("due", "2027-01-01")
    late = assess_object(tmp_path, timeline(today="2027-01-20"))
    assert late["long_term"]["standing"] == "overdue"


@pytest.mark.parametrize(
    ("late_checks", "message"),
    [
        ("no", "late_checks: must be an array, got string"),
        (
            [{"date": "2026-11-10", "lump": False}],
            "late_checks[0].date: 2026-11-10 is in the diary",
        ),
        ([{"date": "2027-01-02"}], "late_checks[0].lump: missing"),
        ([{"date": "2027-01-02", "lump": 1}], "late_checks[0].lump: must be true or false, got 1"),
        (
            [{"date": "2027-01-02", "lump": True, "context": ["flu"]}],
            'late_checks[0].context[0]: unknown question "flu"',
        ),
        ([{"date": "2027-01-02", "lump": True, "who": "x"}], 'unknown field "who"'),
    ],
)
def test_invalid_late_checks_exit_2_and_print_nothing(
    tmp_path: Path, late_checks: object, message: str
) -> None:
    stdout = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "assess",
            write(tmp_path, timeline(late_checks=late_checks)),
            stdout=stdout,
            stderr=io.StringIO(),
        )
    assert excinfo.value.returncode == 2
    assert message in str(excinfo.value)
    assert stdout.getvalue() == ""
