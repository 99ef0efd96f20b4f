"""Day-by-day symptom charts, drawn on the server as SVG, and the same as a table.

Each chart plots one symptom's ratings (0–3) against the day of the diary,
over a shaded band of what is usual for the treatment on that day
(`course.expected_max_rating`). Nothing relies on colour: a day above the band
is a diamond, not a circle; a missed day is a cross under the axis; each mark
carries its day and word as a title, each chart a short legend in words, and
the page offers the same days as a table in words.

The drawing (`Chart.figure`, its `svg`) is built here, not in a template: a
diary's charts are a few hundred coordinates, which the template language
would render one variable at a time (and would localize: a decimal comma
breaks SVG). The frame (the band, the grid and the axis labels) is the same
for every chart of one course and is drawn once per course. Numbers go into
the markup as Python writes them; every word is escaped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from recovery import course
from recovery.guidance import CHART_KEY, RATING_WORDS, SYMPTOM_LABELS, TABLE_WORDS

WIDTH, HEIGHT = 320, 166
LEFT, RIGHT, TOP, BOTTOM = 74, 10, 10, 40  # margins for the axis labels and missed days
MISSED_Y = HEIGHT - BOTTOM + 12  # the crosses of missed days, under the axis
MARK = 5  # half the size of a diamond or a cross


@dataclass(frozen=True)
class Point:
    day: int
    rating: int
    x: float
    y: float
    word: str
    above_usual: bool  # above the band: more than is usual on that day


@dataclass(frozen=True)
class Frame:
    """What every chart of one course shares."""

    last_day: int
    # The expected band (a step polygon along the bottom axis), the grid lines and the
    # axis labels, as SVG.
    markup: str


def x_of(day: float, last_day: int) -> float:
    return round(LEFT + (WIDTH - LEFT - RIGHT) * day / last_day, 1)


def y_of(rating: float) -> float:
    return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - rating / course.RATING_MAX), 1)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class Chart:
    symptom: str
    label: str
    points: tuple[Point, ...]
    # Runs of consecutive days, joined by a line; a missed day breaks the line.
    lines: tuple[str, ...]
    missed: tuple[int, ...]  # the diary's days gone by without a check-in
    frame: Frame

    @property
    def summary(self) -> str:
        if not self.points:
            said = f"{self.label}: no check-ins yet."
        else:
            last = self.points[-1]
            said = f"{self.label}: {last.word.lower()} on day {last.day}, the latest check-in."
        above = [str(p.day) for p in self.points if p.above_usual]
        if above:
            said += f" More than usual on day{'s' if len(above) > 1 else ''} {', '.join(above)}."
        if self.missed:
            said += f" {_plural(len(self.missed), 'day')} missed."
        return said

    @property
    def figure(self) -> SafeString:
        """The chart with its caption and legend, as the pages show it."""
        key = "".join(
            f'<li><span class="key-{mark}" aria-hidden="true"></span>{escape(words)}</li>'
            for mark, words in CHART_KEY
        )
        return mark_safe(
            f'<figure class="chart"><figcaption id="chart-{escape(self.symptom)}-title">'
            f"{escape(self.label)}</figcaption>{self.svg}"
            f'<ul class="chart-key" aria-hidden="true">{key}</ul></figure>'
        )

    @property
    def svg(self) -> SafeString:
        """The chart as an `<svg>` element, named by the page's `chart-<symptom>-title`."""
        symptom = escape(self.symptom)
        lines = "".join(f'<polyline class="trend" points="{line}"/>' for line in self.lines)
        marks = []
        for p in self.points:
            if p.above_usual:
                shape = (
                    f'<path class="point above rating-{p.rating}" d="M{p.x},{p.y - MARK - 1}'
                    f'l{MARK + 1},{MARK + 1}l-{MARK + 1},{MARK + 1}l-{MARK + 1},-{MARK + 1}z">'
                )
                title = f"Day {p.day}: {escape(p.word)}, more than usual"
                marks.append(f"{shape}<title>{title}</title></path>")
            else:
                marks.append(
                    f'<circle class="point rating-{p.rating}" cx="{p.x}" cy="{p.y}" r="4">'
                    f"<title>Day {p.day}: {escape(p.word)}</title></circle>"
                )
        for day in self.missed:
            x = x_of(day, self.frame.last_day)
            marks.append(
                f'<path class="missed" d="M{x - MARK + 1},{MISSED_Y - MARK + 1}l{2 * MARK - 2},'
                f'{2 * MARK - 2}m0,-{2 * MARK - 2}l-{2 * MARK - 2},{2 * MARK - 2}">'
                f"<title>Day {day}: missed</title></path>"
            )
        # Safe: numbers, fixed markup and the words escaped above.
        return mark_safe(
            f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-labelledby="chart-{symptom}-title chart-{symptom}-desc" class="chart-svg">'
            f'<desc id="chart-{symptom}-desc">{escape(self.summary)} '
            "The shaded area is usual for this treatment.</desc>"
            f"{self.frame.markup}{lines}{''.join(marks)}</svg>"
        )


@lru_cache(maxsize=64)
def frame_for(values: course.CourseValues) -> Frame:
    """The expected band and the axes of a course's charts (a few courses per clinic)."""
    last_day = values.diary_days

    def x(day: float) -> float:
        return x_of(day, last_day)

    corners = [(x(0), y_of(0))]
    for day in range(last_day + 1):
        allowed = y_of(course.expected_max_rating(day, values))
        corners += [(x(max(day - 0.5, 0)), allowed), (x(min(day + 0.5, last_day)), allowed)]
    corners.append((x(last_day), y_of(0)))
    band = " ".join(f"{cx},{cy}" for cx, cy in corners)

    grid = "".join(
        f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y_of(r)}" y2="{y_of(r)}"/>'
        f'<text class="axis" x="{LEFT - 9}" y="{y_of(r)}" text-anchor="end" '
        f'dominant-baseline="middle">{escape(RATING_WORDS[r][0])}</text>'
        for r in range(course.RATING_MAX + 1)
    )
    days = "".join(
        f'<text class="axis" x="{x(d)}" y="{HEIGHT - 4}" text-anchor="middle">Day {d}</text>'
        for d in range(0, last_day + 1, 7)
    )
    return Frame(
        last_day=last_day, markup=f'<polygon class="expected" points="{band}"/>{grid}{days}'
    )


def missed_days(checked_in: Sequence[int], *, today: int, last_day: int) -> tuple[int, ...]:
    """The diary's days before `today` (the patient's day number now) without a check-in;
    today is not missed yet."""
    done = set(checked_in)
    return tuple(d for d in range(0, min(today, last_day + 1)) if d not in done)


def symptom_charts(
    *,
    ratings_by_day: Sequence[tuple[int, dict[str, int | None]]],
    values: course.CourseValues,
    today: int,
) -> list[Chart]:
    """One chart per symptom from (day, {symptom: rating}) pairs in day order; `today`:
    the patient's day number now, before which a day without a check-in is missed."""
    frame = frame_for(values)
    missed = missed_days([d for d, _ in ratings_by_day], today=today, last_day=frame.last_day)
    charts = []
    for symptom in course.SYMPTOMS:
        points = tuple(
            Point(
                day,
                rating,
                x_of(day, frame.last_day),
                y_of(rating),
                RATING_WORDS[rating][0],
                above_usual=rating > course.expected_max_rating(day, values),
            )
            for day, ratings in ratings_by_day
            if (rating := ratings.get(symptom)) is not None
        )
        runs: list[list[Point]] = []
        for point in points:
            if runs and runs[-1][-1].day == point.day - 1:
                runs[-1].append(point)
            else:
                runs.append([point])
        lines = tuple(" ".join(f"{p.x},{p.y}" for p in run) for run in runs if len(run) > 1)
        charts.append(
            Chart(
                symptom=symptom,
                label=SYMPTOM_LABELS[symptom],
                points=points,
                lines=lines,
                missed=missed,
                frame=frame,
            )
        )
    return charts


@dataclass(frozen=True)
class TableRow:
    """One day of the diary in words, for the table beside the charts."""

    day: int
    ratings: str  # "Swelling: Moderate; Redness: Mild", "All None", "Not rated" or "Missed"
    result: str  # the check-in's status in words, or "" for a missed day


def diary_table(
    check_ins: Sequence[tuple[int, dict[str, int | None], str]], *, today: int, last_day: int
) -> list[TableRow]:
    """The days so far, from (day, {symptom: rating}, status words) in day order: each
    check-in, and each missed day, in words that fit a 360px phone (only what was above
    None is named)."""
    by_day = {day: (ratings, status) for day, ratings, status in check_ins}
    shown = [*by_day, *missed_days(list(by_day), today=today, last_day=last_day)]
    rows = []
    for day in sorted(shown):
        if day not in by_day:
            rows.append(TableRow(day, TABLE_WORDS["missed"], ""))
            continue
        ratings, status = by_day[day]
        given = {s: r for s, r in ratings.items() if r is not None}
        named = [f"{SYMPTOM_LABELS[s]}: {RATING_WORDS[r][0]}" for s, r in given.items() if r]
        words = "; ".join(named) or TABLE_WORDS["all_none" if given else "not_rated"]
        rows.append(TableRow(day, words, status))
    return rows


# The long-term watch's years-long axis (issue 13) ----------------------------------------

LONG_TERM_WIDTH = 320  # the SVG's user units: 0 to 5 years, with margins
LONG_TERM_LEFT, LONG_TERM_RIGHT = 12, 308
LONG_TERM_YEARS = 5


@dataclass(frozen=True)
class LongTermMark:
    x: float
    kind: str  # "due", "missed", "yes", "no", "today"
    label: str  # what it says, in words (the SVG's <title>, and the list beside it)


# The first year (monthly check-ins) is drawn wider than the four after it (every three
# months), so that its marks are as far apart as theirs: 11 due dates in 40% of the axis,
# 16 in 60%.
FIRST_YEAR_SHARE = 0.4


def long_term_x(treated_on: dt.date, day: dt.date) -> float:
    """Where `day` falls on the axis from the treatment to five years after it (clamped):
    the first year over FIRST_YEAR_SHARE of it, the other four over the rest."""
    year = (course.add_months(treated_on, 12) - treated_on).days
    span = (course.add_months(treated_on, 12 * LONG_TERM_YEARS) - treated_on).days
    days = min(max((day - treated_on).days, 0), span)
    if days <= year:
        share = FIRST_YEAR_SHARE * days / year
    else:
        share = FIRST_YEAR_SHARE + (1 - FIRST_YEAR_SHARE) * (days - year) / (span - year)
    return round(LONG_TERM_LEFT + share * (LONG_TERM_RIGHT - LONG_TERM_LEFT), 1)


def long_term_marks(
    treated_on: dt.date,
    *,
    due_dates: Sequence[dt.date],
    answers: Sequence[tuple[dt.date, bool]],
    today: dt.date,
    words: Mapping[str, str],
) -> list[LongTermMark]:
    """The axis's marks: each due date (missed if passed and no answer came before the
    next), each answer (yes and no apart), and today; `words` names each kind."""
    marks: list[LongTermMark] = []
    answered = sorted(d for d, _ in answers)
    for index, due in enumerate(due_dates):
        following = due_dates[index + 1] if index + 1 < len(due_dates) else None
        replied = any(due <= d and (following is None or d < following) for d in answered)
        missed = not replied and following is not None and following <= today
        kind = "missed" if missed else "due"
        marks.append(LongTermMark(long_term_x(treated_on, due), kind, f"{words[kind]} {due}"))
    for day, lump in answers:
        kind = "yes" if lump else "no"
        marks.append(LongTermMark(long_term_x(treated_on, day), kind, f"{words[kind]} {day}"))
    marks.append(LongTermMark(long_term_x(treated_on, today), "today", f"{words['today']}"))
    return marks
