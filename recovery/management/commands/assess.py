"""Apply the recovery course to a timeline of check-ins given as JSON.

The same rules as the live app: every status comes from
`recovery.course.assess_timeline`, with the product's course values from the
database. Invalid input exits with status 2, a message on stderr naming what is
wrong, and nothing on stdout.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recovery import course
from recovery.models import Product

DEFAULT_PRODUCT = "bellafill"
REQUIRED_SYMPTOMS = ("swelling", "redness", "bruising", "lumps")
OPTIONAL_SYMPTOMS = ("pain", "itching")  # 0 when left out
TOP_FIELDS = frozenset({"product", "treated_on", "check_ins", "late_checks", "today"})
LATE_CHECK_FIELDS = frozenset({"date", "lump", "context"})
CHECK_IN_FIELDS = frozenset({"date", "red_flags", *course.SYMPTOMS})
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def invalid(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def json_type(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shown(value: object) -> str:
    """A value as it was written in the input, cut short if long."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_input(*, source: str, stdin: IO[str]) -> object:
    name = "standard input" if source == "-" else source
    try:
        if source == "-":
            text = stdin.read()
        else:
            with open(source, encoding="utf-8") as file:
                text = file.read()
    except OSError as error:
        raise invalid(f"{name}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise invalid(f"{name}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise invalid(f"{name}: not valid JSON: {error}") from None


def parse_date(*, value: object, where: str) -> dt.date:
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise invalid(f"{where}: must be a date YYYY-MM-DD, got {shown(value)}")


def check_fields(*, item: dict[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(set(item) - known)
    if unknown:
        raise invalid(f"{where}: unknown field {shown(unknown[0])}")


def parse_dated(
    *, item: object, known: frozenset[str], where: str
) -> tuple[dict[str, Any], dt.date]:
    """An object of `known` fields with a date: the object, and its date."""
    if not isinstance(item, dict):
        raise invalid(f"{where}: must be an object, got {json_type(item)}")
    check_fields(item=item, known=known, where=where)
    if "date" not in item:
        raise invalid(f"{where}.date: missing")
    return item, parse_date(value=item["date"], where=f"{where}.date")


def parse_rating(*, item: dict[str, Any], symptom: str, where: str) -> int:
    if symptom not in item:
        if symptom in OPTIONAL_SYMPTOMS:
            return 0
        raise invalid(f"{where}.{symptom}: missing (a rating 0-3 is required)")
    value = item[symptom]
    # bool is a subclass of int in Python, but `true` is not a rating.
    if type(value) is not int or not course.RATING_MIN <= value <= course.RATING_MAX:
        raise invalid(
            f"{where}.{symptom}: must be an integer {course.RATING_MIN}-{course.RATING_MAX},"
            f" got {shown(value)}"
        )
    return value


def parse_codes(
    *, item: dict[str, Any], key: str, known: Sequence[str], what: str, where: str
) -> frozenset[str]:
    """`item[key]`, an array of codes each one of `known` (absent: none)."""
    codes = item.get(key, [])
    if not isinstance(codes, list):
        raise invalid(f"{where}.{key}: must be an array, got {json_type(codes)}")
    for index, code in enumerate(codes):
        if code not in known:
            raise invalid(
                f"{where}.{key}[{index}]: unknown {what} {shown(code)} (known: {', '.join(known)})"
            )
    return frozenset(codes)


def parse_check_in(*, item: object, where: str) -> course.DatedAnswers:
    item, date = parse_dated(item=item, known=CHECK_IN_FIELDS, where=where)
    ratings = {s: parse_rating(item=item, symptom=s, where=where) for s in course.SYMPTOMS}
    red_flags = parse_codes(
        item=item, key="red_flags", known=course.RED_FLAGS, what="red flag", where=where
    )
    return course.DatedAnswers(date, course.Answers(ratings=ratings, red_flags=red_flags))


def find_product(*, data: dict[str, Any]) -> Product:
    code = data.get("product", DEFAULT_PRODUCT)
    if not isinstance(code, str):
        raise invalid(f"product: must be a string, got {json_type(code)}")
    product = Product.objects.filter(code=code).first()
    if product is None:
        known = ", ".join(Product.objects.order_by("code").values_list("code", flat=True))
        raise invalid(f"product: unknown product {shown(code)} (known: {known or 'none'})")
    return product


def parse_timeline(*, data: object) -> tuple[Product, dt.date, list[course.DatedAnswers]]:
    """The product, the treatment date and the check-ins, or CommandError naming what is wrong."""
    if not isinstance(data, dict):
        raise invalid(f"input: must be a JSON object, got {json_type(data)}")
    check_fields(item=data, known=TOP_FIELDS, where="input")
    if "treated_on" not in data:
        raise invalid("treated_on: missing")
    treated_on = parse_date(value=data["treated_on"], where="treated_on")
    if "check_ins" not in data:
        raise invalid("check_ins: missing")
    items = data["check_ins"]
    if not isinstance(items, list):
        raise invalid(f"check_ins: must be an array, got {json_type(items)}")
    check_ins = [
        parse_check_in(item=item, where=f"check_ins[{index}]") for index, item in enumerate(items)
    ]
    product = find_product(data=data)
    first_on: dict[dt.date, int] = {}
    for index, check_in in enumerate(check_ins):
        where = f"check_ins[{index}].date"
        day = course.day_number(treated_on, check_in.date)
        if day < 0:
            raise invalid(f"{where}: {check_in.date} is before the treatment on {treated_on}")
        if day > product.diary_days:
            raise invalid(
                f"{where}: {check_in.date} is day {day}, after the diary"
                f" (day 0 to {product.diary_days} for {product.code})"
            )
        if check_in.date in first_on:
            raise invalid(
                f"{where}: check_ins[{first_on[check_in.date]}] is on the same date"
                f" {check_in.date}; a patient checks in at most once per day"
            )
        first_on[check_in.date] = index
    return product, treated_on, check_ins


# The long-term check-ins (issue 13) ----------------------------------------------------


def parse_late_check(
    *, item: object, where: str, treated_on: dt.date, product: Product
) -> tuple[course.LateAnswer, list[str]]:
    item, date = parse_dated(item=item, known=LATE_CHECK_FIELDS, where=where)
    if course.day_number(treated_on, date) <= product.diary_days:
        raise invalid(
            f"{where}.date: {date} is in the diary (day 0 to {product.diary_days} for"
            f" {product.code}); a long-term check-in comes after it"
        )
    if "lump" not in item:
        raise invalid(f"{where}.lump: missing (true or false)")
    if not isinstance(item["lump"], bool):
        raise invalid(f"{where}.lump: must be true or false, got {shown(item['lump'])}")
    context = parse_codes(
        item=item, key="context", known=course.LONG_TERM_CONTEXT, what="question", where=where
    )
    return course.LateAnswer(date, item["lump"]), sorted(context)


def assess_late_checks(
    *, data: dict[str, Any], treated_on: dt.date, product: Product
) -> dict[str, Any]:
    """What the long-term watch makes of the late check-ins: the standing and due date
    after each (in date order), and at `today` (the last check-in's date if not given)."""
    items = data["late_checks"]
    if not isinstance(items, list):
        raise invalid(f"late_checks: must be an array, got {json_type(items)}")
    parsed = [
        parse_late_check(
            item=item, where=f"late_checks[{index}]", treated_on=treated_on, product=product
        )
        for index, item in enumerate(items)
    ]
    parsed.sort(key=lambda pair: pair[0].date)
    answers = [answer for answer, _ in parsed]
    if "today" in data:
        today = parse_date(value=data["today"], where="today")
    else:
        today = max([treated_on, *(a.date for a in answers)])
    out = []
    for index, (answer, context) in enumerate(parsed):
        place = course.long_term_place(treated_on, today=answer.date, answers=answers[: index + 1])
        out.append(
            {
                "date": answer.date.isoformat(),
                "lump": answer.lump,
                "context": context,
                "standing": place.standing.value,
                "due_on": place.due_on.isoformat() if place.due_on else None,
            }
        )
    known = [a for a in answers if a.date <= today]
    place = course.long_term_place(treated_on, today=today, answers=known)
    return {
        "today": today.isoformat(),
        "standing": place.standing.value,
        "due_on": place.due_on.isoformat() if place.due_on else None,
        "late_checks": out,
    }


class Command(BaseCommand):
    help = (
        "Assess a treatment's check-ins with the recovery course, as the app does. Each"
        " check-in, in date order and against the previous one, gets the highest status of"
        " the rules that fire: urgent for any red flag; contact_clinic for a symptom rated 3,"
        " for one rated higher than at the previous check-in and now 2 or more (from day 3),"
        " or for one rated 1 or more after day 14 that was also there at the previous"
        " check-in (or with no previous check-in); watch for one rated higher than at the"
        " previous check-in and now 1 (from day 3), or one rated 2 or more after day 7;"
        " otherwise on_track. Days 3, 7 and 14 are the product's course values from the"
        ' database. FILE (or "-" for standard input) holds JSON {"product", "treated_on",'
        ' "check_ins": [{"date", "swelling", "redness", "bruising", "lumps", "pain",'
        ' "itching", "red_flags"}]}; prints a JSON list of {"date", "day", "status",'
        ' "reasons"}, one per check-in in date order, and a one-line summary on standard'
        ' error. With "late_checks": [{"date", "lump": true|false, "context":'
        ' ["recent_illness", "recent_vaccination", "recent_dental_work"]}] (after the'
        ' diary) and an optional "today", it prints an object instead: {"check_ins": that'
        ' list, "long_term": {"today", "standing", "due_on", "late_checks": [{"date",'
        ' "lump", "context", "standing", "due_on"}]}}, the long-term watch\'s standing'
        " (due, overdue, answered_yes, up_to_date, waiting, ended) after each late check-in"
        " and on today. Invalid input exits with status 2, says why on standard error and"
        " prints nothing on standard output."
    )
    # call_command(..., stdin=stream) reads "-" from that stream instead of sys.stdin.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help='the JSON timeline, or "-" for standard input')

    def handle(self, *args: Any, **options: Any) -> None:
        data = read_input(source=options["file"], stdin=options.get("stdin") or sys.stdin)
        product, treated_on, check_ins = parse_timeline(data=data)
        results = course.assess_timeline(
            treated_on=treated_on, check_ins=check_ins, course=product.course
        )
        assessed = [
            {
                "date": result.date.isoformat(),
                "day": result.day,
                "status": result.assessment.status.value,
                "reasons": list(result.assessment.reasons),
            }
            for result in results
        ]
        output: object = assessed
        assert isinstance(data, dict)
        if "late_checks" in data or "today" in data:
            data.setdefault("late_checks", [])
            output = {
                "check_ins": assessed,
                "long_term": assess_late_checks(data=data, treated_on=treated_on, product=product),
            }
        # Everything is decided before anything is printed.
        self.stdout.write(json.dumps(output, indent=2))
        if options["verbosity"] >= 1:
            counts = Counter(result.assessment.status for result in results)
            summary = ", ".join(f"{counts[s]} {s.value}" for s in reversed(course.Status))
            check_ins_assessed = f"{len(results)} check-in{'' if len(results) == 1 else 's'}"
            self.stderr.write(
                f"Assessed {check_ins_assessed} of {product.code} treated on {treated_on}:"
                f" {summary}.",
                style_func=lambda text: text,
            )
