"""Day-by-day symptom charts, drawn on the server as SVG.

Each chart plots one symptom's ratings (0–3) against the day of the diary,
over a shaded band of what the expected course allows on that day: up to
moderate in the first week, mild until the end of the second, none after.
Points carry their rating as a shape and a text label, so the chart reads
without color; the page also offers the same numbers as a table.

The drawing (`Chart.figure`, its `svg`) is built here, not in a template: a
diary's charts are a few hundred coordinates, which the template language
would render one variable at a time (and would localize: a decimal comma
breaks SVG). The frame (the expected band, the grid and the axis labels) is
the same for every chart of one course and is drawn once per course. Numbers
go into the markup as Python writes them; every word is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from recovery import course
from recovery.guidance import RATING_WORDS, SYMPTOM_LABELS

WIDTH, HEIGHT = 320, 150
LEFT, RIGHT, TOP, BOTTOM = 66, 8, 8, 24  # margins for the axis labels


@dataclass(frozen=True)
class Point:
    day: int
    rating: int
    x: float
    y: float
    word: str


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


@dataclass(frozen=True)
class Chart:
    symptom: str
    label: str
    points: tuple[Point, ...]
    # Runs of consecutive days, joined by a line; a missed day breaks the line.
    lines: tuple[str, ...]
    frame: Frame

    @property
    def summary(self) -> str:
        if not self.points:
            return f"{self.label}: no check-ins yet."
        last = self.points[-1]
        return f"{self.label}: {last.word.lower()} on day {last.day}, the latest check-in."

    @property
    def figure(self) -> SafeString:
        """The chart with its caption, as the pages show it."""
        return mark_safe(
            f'<figure class="chart"><figcaption id="chart-{escape(self.symptom)}-title">'
            f"{escape(self.label)}</figcaption>{self.svg}</figure>"
        )

    @property
    def svg(self) -> SafeString:
        """The chart as an `<svg>` element, named by the page's `chart-<symptom>-title`."""
        symptom = escape(self.symptom)
        lines = "".join(f'<polyline class="trend" points="{line}"/>' for line in self.lines)
        points = "".join(
            f'<circle class="point rating-{p.rating}" cx="{p.x}" cy="{p.y}" r="4">'
            f"<title>Day {p.day}: {escape(p.word)}</title></circle>"
            for p in self.points
        )
        # Safe: numbers, fixed markup and the words escaped above.
        return mark_safe(
            f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-labelledby="chart-{symptom}-title chart-{symptom}-desc" class="chart-svg">'
            f'<desc id="chart-{symptom}-desc">{escape(self.summary)} '
            "The shaded area is the expected course.</desc>"
            f"{self.frame.markup}{lines}{points}</svg>"
        )


def expected_max_rating(day: int, values: course.CourseValues) -> int:
    """The highest rating the expected course allows on `day`."""
    if day <= values.typical_days:
        return 2
    if day <= values.expected_max_days:
        return 1
    return 0


@lru_cache(maxsize=64)
def frame_for(values: course.CourseValues) -> Frame:
    """The expected band and the axes of a course's charts (a few courses per clinic)."""
    last_day = values.diary_days

    def x(day: float) -> float:
        return x_of(day, last_day)

    corners = [(x(0), y_of(0))]
    for day in range(last_day + 1):
        allowed = y_of(expected_max_rating(day, values))
        corners += [(x(max(day - 0.5, 0)), allowed), (x(min(day + 0.5, last_day)), allowed)]
    corners.append((x(last_day), y_of(0)))
    band = " ".join(f"{cx},{cy}" for cx, cy in corners)

    grid = "".join(
        f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y_of(r)}" y2="{y_of(r)}"/>'
        f'<text class="axis" x="{LEFT - 4}" y="{y_of(r)}" text-anchor="end" '
        f'dominant-baseline="middle">{escape(RATING_WORDS[r][0])}</text>'
        for r in range(course.RATING_MAX + 1)
    )
    days = "".join(
        f'<text class="axis" x="{x(d)}" y="{HEIGHT - 6}" text-anchor="middle">Day {d}</text>'
        for d in range(0, last_day + 1, 7)
    )
    return Frame(
        last_day=last_day, markup=f'<polygon class="expected" points="{band}"/>{grid}{days}'
    )


def symptom_charts(
    *, ratings_by_day: Sequence[tuple[int, dict[str, int | None]]], values: course.CourseValues
) -> list[Chart]:
    """One chart per symptom from (day, {symptom: rating}) pairs in day order."""
    frame = frame_for(values)
    charts = []
    for symptom in course.SYMPTOMS:
        points = tuple(
            Point(day, rating, x_of(day, frame.last_day), y_of(rating), RATING_WORDS[rating][0])
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
                frame=frame,
            )
        )
    return charts
