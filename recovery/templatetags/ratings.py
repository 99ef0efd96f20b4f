"""Ratings as the clinic's tables draw them: each piece made once, at import, and joined
per row. A dashboard page is 25 rows of six ratings, a timeline up to 31 rows of six: as
template loops of spans and cells they were nearly half the dashboard's time."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from recovery import course
from recovery.guidance import RATING_WORDS, SYMPTOM_LABELS, SYMPTOM_SHORT, rating_word

register = template.Library()

_VALUES = (None, *RATING_WORDS)  # unrated, then each point of the scale


def _glance(symptom: str, value: int | None, *, last: bool) -> SafeString:
    """One rating as the eye reads it ("Sw 2 ·"); the words are for screen readers."""
    return format_html(
        '<span class="glance" aria-hidden="true"><abbr title="{}">{}</abbr>&nbsp;{}{}</span> ',
        SYMPTOM_LABELS[symptom],
        SYMPTOM_SHORT[symptom],
        "–" if value is None else value,
        "" if last else mark_safe("&nbsp;·"),
    )


_GLANCES = {
    (symptom, value, last): _glance(symptom, value, last=last)
    for symptom in course.SYMPTOMS
    for value in _VALUES
    for last in (False, True)
}
_CELLS = {value: format_html("<td>{}</td>", rating_word(value)) for value in _VALUES}


@register.filter
def glances(ratings: Iterable[tuple[str, int | None]]) -> SafeString:
    """A check-in's (symptom, rating) pairs at a glance: "Sw 2 · Re 1 · …" (hidden from
    screen readers, which are read the words)."""
    pieces = list(ratings)
    last = len(pieces) - 1
    return mark_safe("".join(_GLANCES[s, v, i == last] for i, (s, v) in enumerate(pieces)))


@register.filter
def rating_cells(ratings: Iterable[tuple[str, int | None]]) -> SafeString:
    """A check-in's (symptom, rating) pairs as a table cell each, in words."""
    return mark_safe("".join(_CELLS[v] for _, v in ratings))
