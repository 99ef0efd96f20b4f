"""Times as the clinic's pages write them: always with the zone's name."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.formats import date_format

register = template.Library()


@register.filter
def zoned(value: dt.datetime | None, format_string: str) -> str:
    """`value` in the current time zone as the date filter writes `format_string`, then the
    zone's name ("EST"). The date filter's own "T" leaves the name out in the hour that comes
    twice when clocks go back, the one hour where it tells two times apart."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return f"{date_format(local, format_string)} {local.tzname()}"
