"""Day-by-day symptom charts, drawn on the server as SVG.

Each chart plots one symptom's ratings (0–3) against the day of the diary,
over a shaded band of what the expected course allows on that day: up to
moderate in the first week, mild until the end of the second, none after.
Points carry their rating as a shape and a text label, so the chart reads
without color; the page also offers the same numbers as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
class Chart:
    symptom: str
    label: str
    points: tuple[Point, ...]
    # Runs of consecutive days, joined by a line; a missed day breaks the line.
    lines: tuple[str, ...]
    expected_area: str
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, int], ...]
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM

    @property
    def summary(self) -> str:
        if not self.points:
            return f"{self.label}: no check-ins yet."
        last = self.points[-1]
        return f"{self.label}: {last.word.lower()} on day {last.day}, the latest check-in."


def expected_max_rating(day: int, values: course.CourseValues) -> int:
    """The highest rating the expected course allows on `day`."""
    if day <= values.typical_days:
        return 2
    if day <= values.expected_max_days:
        return 1
    return 0


def symptom_charts(
    *, ratings_by_day: Sequence[tuple[int, dict[str, int | None]]], values: course.CourseValues
) -> list[Chart]:
    """One chart per symptom from (day, {symptom: rating}) pairs in day order."""
    last_day = values.diary_days

    def x(day: float) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * day / last_day, 1)

    def y(rating: float) -> float:
        return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - rating / course.RATING_MAX), 1)

    # The expected band, as a step polygon along the bottom axis.
    corners = [(x(0), y(0))]
    for day in range(last_day + 1):
        allowed = expected_max_rating(day, values)
        corners += [(x(max(day - 0.5, 0)), y(allowed)), (x(min(day + 0.5, last_day)), y(allowed))]
    corners.append((x(last_day), y(0)))
    expected_area = " ".join(f"{cx},{cy}" for cx, cy in corners)

    y_ticks = tuple((y(r), RATING_WORDS[r][0]) for r in range(course.RATING_MAX + 1))
    x_ticks = tuple((x(d), d) for d in range(0, last_day + 1, 7))

    charts = []
    for symptom in course.SYMPTOMS:
        points = tuple(
            Point(day, rating, x(day), y(rating), RATING_WORDS[rating][0])
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
                expected_area=expected_area,
                y_ticks=y_ticks,
                x_ticks=x_ticks,
            )
        )
    return charts
