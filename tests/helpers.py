"""What the tests share: reading a page as a person does, and the days and clocks of the
suite's diary (the treatment on TREATED_ON, the patients in New York)."""

from __future__ import annotations

import ast
import datetime as dt
import html
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import time_machine
from django.db import connection
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.test import Client
from django.test.utils import CaptureQueriesContext

NEW_YORK = ZoneInfo("America/New_York")
TREATED_ON = dt.date(2026, 11, 20)  # a Friday; day 5 is Wednesday 25 November


def html_of(response: HttpResponseBase) -> str:
    """The page's markup (of a page, not a streamed download)."""
    assert isinstance(response, HttpResponse), response
    return response.content.decode()


def words(markup: str) -> str:
    """Markup as a person reads it: tags removed, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def text_of(response: HttpResponseBase) -> str:
    """The page as a person reads it (`words` of its markup)."""
    return words(html_of(response))


# pytest-django's django_assert_max_num_queries fixture.
AssertMaxQueries = Callable[[int], AbstractContextManager[object]]


def queries_of_page(
    client: Client, url: str, *, bound: int, assert_max: AssertMaxQueries, **params: str
) -> int:
    """How many queries the page at `url` costs (it must answer 200); past `bound` the test
    fails with the list of them."""
    with assert_max(bound), CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured)


def day(n: int, treated_on: dt.date = TREATED_ON) -> dt.date:
    """Day `n` of the diary of a treatment on `treated_on`."""
    return treated_on + dt.timedelta(days=n)


def local_moment(
    when: dt.date | int, hour: int = 12, minute: int = 0, tz: ZoneInfo = NEW_YORK, fold: int = 0
) -> dt.datetime:
    """A wall-clock time on a date (or on day `when` of the diary) in a time zone."""
    on = day(when) if isinstance(when, int) else when
    return dt.datetime(on.year, on.month, on.day, hour, minute, tzinfo=tz, fold=fold)


def at_local(
    when: dt.date | int, hour: int = 12, minute: int = 0, tz: ZoneInfo = NEW_YORK, fold: int = 0
) -> AbstractContextManager[object]:
    """Pin the clock to a wall-clock time in the patient's time zone (New York unless
    given), on a date or on day `when` of the diary."""
    return time_machine.travel(local_moment(when, hour, minute, tz, fold), tick=False)


def imported_modules(module: ModuleType) -> set[str]:
    """What the module's source imports, by dotted name: each module, and each name taken
    from one (`from recovery import tasks` gives both `recovery` and `recovery.tasks`)."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            named |= {f"{node.module}.{alias.name}" for alias in node.names} | {str(node.module)}
        elif isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
    return named
