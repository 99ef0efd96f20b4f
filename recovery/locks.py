"""The one way a write takes hold of a treatment or a long-term watch: lock its row
alone, then read.

Every write that changes a treatment's check-ins, its alert or what is kept on
its row (latest check-in, open alert, triage place, the clinic's counts), or a
patient's long-term watch, runs in one transaction that locks, in this order:

1. the Treatment row(s), in primary-key order, with a ``SELECT … FOR UPDATE``
   that joins nothing;
2. then the patient's LongTermWatch row(s), the same way, when the write
   changes a watch (recovery.long_term);
3. then the treatment's Alert row, when the write acts on one;
4. last, the clinic's TriageCounts row (``triage.recount``).

Everything the write decides from is read *after* its lock, in new queries.
A lock taken together with joined rows (``select_related``) is not enough on
PostgreSQL: a writer that waited for the row gets the row's new version but
the joined rows as they were before it waited (READ COMMITTED re-checks only
the locked row), so it would decide from a latest check-in or an open alert
that another transaction has just replaced. See docs/concurrency.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Model

from recovery.models import LongTermWatch, Patient, Treatment

# What the write functions read of a treatment once they hold its lock (the patient's
# reminder settings too: a check-in moves the next reminder, recovery.reminders).
LOCKED_WITH = (
    "product",
    "patient",
    "patient__reminder_settings",
    "clinic",
    "latest_check_in",
    "open_alert",
)


def treatment_for_update(pk: int) -> Treatment:
    """Lock the treatment's row, then load it (and what is kept on it) as committed now.

    Call inside ``transaction.atomic()``; Treatment.DoesNotExist if it is gone.
    """
    Treatment.objects.select_for_update().filter(pk=pk).values_list("pk", flat=True).get()
    return Treatment.objects.select_related(*LOCKED_WITH).get(pk=pk)


def _rows_for_update[M: Model](
    model: type[M], pks: Iterable[int], *, loaded_with: Sequence[str]
) -> list[M]:
    """Lock the rows in primary-key order (two writers never wait for each other in a
    circle), joining nothing; then load those still there, in that order."""
    rows = model._default_manager
    locked = list(
        rows.select_for_update()
        .filter(pk__in=sorted(set(pks)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(rows.select_related(*loaded_with).filter(pk__in=locked).order_by("pk"))


def treatments_for_update(pks: Iterable[int]) -> list[Treatment]:
    """Lock several treatments' rows in primary-key order, then load them, in that order."""
    return _rows_for_update(Treatment, pks, loaded_with=LOCKED_WITH)


def patient_treatments_for_update(patient_id: int) -> list[int]:
    """Lock every treatment of one patient, in primary-key order; their ids.

    For writes that recompute what is kept on all of them (recovery.reminders); such a
    write reads them afterwards by patient, so that one recorded meanwhile is read too.
    """
    return list(
        Treatment.objects.select_for_update()
        .filter(patient_id=patient_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# What the watch's writes read of it once they hold its lock: its clock (the treatment it
# follows), and the patient's reminder settings (recovery.long_term.schedule_reminder).
WATCH_LOCKED_WITH = ("patient", "patient__reminder_settings", "treatment__product")


def watch_for_update(patient: Patient) -> LongTermWatch | None:
    """Lock the patient's long-term watch row alone, then load it as committed now; None
    if they have none. Call inside ``transaction.atomic()``, after the treatments' locks."""
    if not (
        LongTermWatch.objects.select_for_update()
        .filter(patient=patient)
        .values_list("pk", flat=True)
        .first()
    ):
        return None
    return LongTermWatch.objects.select_related(*WATCH_LOCKED_WITH).get(patient=patient)


def watches_for_update(pks: Iterable[int]) -> list[LongTermWatch]:
    """Lock several watches' rows in primary-key order, then load them, in that order."""
    return _rows_for_update(LongTermWatch, pks, loaded_with=WATCH_LOCKED_WITH)
