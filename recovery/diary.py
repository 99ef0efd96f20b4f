"""My recovery's read model: the patient's diary so far, as a chart per symptom and the
same days as a table in words (the drawing and the words are charts.py's).

One query, the treatment's check-ins, however long the diary (a lazy fetch is a bug,
FETCH_RAISE); the treatment comes with its product (access.current_treatment).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import FETCH_RAISE

from recovery.charts import Chart, TableRow, diary_table, symptom_charts
from recovery.models import Treatment


@dataclass(frozen=True)
class MyRecovery:
    charts: list[Chart]
    table: list[TableRow]


def my_recovery(treatment: Treatment, *, today: dt.date) -> MyRecovery:
    """The diary of `treatment` up to `today`, the patient's date now (a day before it
    without a check-in is missed)."""
    rows = list(treatment.check_ins.order_by("local_date").fetch_mode(FETCH_RAISE))
    day = treatment.day_on(today)
    values = treatment.product.course
    return MyRecovery(
        charts=symptom_charts(
            ratings_by_day=[(c.day, dict(c.ratings())) for c in rows],
            values=values,
            today=day,
        ),
        table=diary_table(
            [(c.day, dict(c.ratings()), c.get_status_display()) for c in rows],
            today=day,
            last_day=values.diary_days,
        ),
    )
