"""Getting check-ins out of Aftercare: a clinic's check-ins of a date range, as CSV.

The diary's check-ins come first (kind `diary`), then the long-term check-ins of the
watch for late lumps (kind `long_term`: `lump` yes or no, the `context` answered yes,
the `due_on` it answered; the diary's columns they have no value for left empty).

Every patient whose check-ins an export holds gets an audit row, written before the
first line is sent.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

from django.db.models import Q

from recovery import access, audit, course
from recovery.models import AuditAction, CheckIn, Clinician, LateCheck, Patient

COLUMNS = [
    "patient_id",
    "patient_name",
    "product",
    "treated_on",
    "session",
    "date",
    "day",
    *course.SYMPTOMS,
    "red_flags",
    "status",
    "reasons",
    "note",
    "entered_by_clinic",
    "created_at",
    "updated_at",
    # Added with the long-term watch (issue 13), after the diary's columns.
    "kind",
    "lump",
    "context",
    "due_on",
]


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (notes are patients' words)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _late_rows(checks: Iterator[LateCheck], clinician_ids: set[int]) -> Iterator[list[object]]:
    for c in checks:
        treatment = c.watch.treatment
        yield [
            c.watch.patient.public_id,
            c.watch.patient.name,
            treatment.product.code if treatment else "",
            treatment.treated_on.isoformat() if treatment else "",
            treatment.session_number if treatment else "",
            c.local_date.isoformat(),
            "",
            *("" for _ in course.SYMPTOMS),
            "",
            "",
            "",
            c.note,
            "yes" if c.entered_by_id in clinician_ids else "no",
            c.created_at.isoformat(),
            c.created_at.isoformat(),
            "long_term",
            "yes" if c.lump else "no",
            ";".join(code for code in course.LONG_TERM_CONTEXT if getattr(c, code)),
            c.due_on.isoformat() if c.due_on else "",
        ]


def _rows(
    check_ins: Iterator[CheckIn], late_checks: Iterator[LateCheck], clinician_ids: set[int]
) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for c in check_ins:
        treatment = c.treatment
        yield writer.writerow(
            [
                _cell(v)
                for v in [
                    treatment.patient.public_id,
                    treatment.patient.name,
                    treatment.product.code,
                    treatment.treated_on.isoformat(),
                    treatment.session_number,
                    c.local_date.isoformat(),
                    c.day,
                    *(getattr(c, s) for s in course.SYMPTOMS),
                    ";".join(c.red_flags),
                    c.status,
                    ";".join(c.reasons),
                    c.note,
                    "yes" if c.entered_by_id in clinician_ids else "no",
                    c.created_at.isoformat(),
                    c.updated_at.isoformat(),
                    "diary",
                    "",
                    "",
                    "",
                ]
            ]
        )
    for row in _late_rows(late_checks, clinician_ids):
        yield writer.writerow([_cell(v) for v in row])


def check_ins_csv(
    *, clinician: Clinician, start: dt.date, end: dt.date, ip_address: str | None
) -> Iterator[str]:
    """The CSV lines of the clinician's clinic's check-ins dated `start` to `end`, by patient
    then date (a header first); each patient in it audited as exported now."""
    check_ins = (
        access.check_ins_for_clinician(clinician)
        .filter(local_date__gte=start, local_date__lte=end)
        .select_related("treatment__patient", "treatment__product")
        .order_by("treatment__patient__name", "treatment__patient_id", "local_date")
    )
    late_checks = (
        access.late_checks_for_clinician(clinician)
        .filter(local_date__gte=start, local_date__lte=end)
        .select_related("watch__patient", "watch__treatment__product")
        .order_by("watch__patient__name", "watch__patient_id", "local_date", "created_at")
    )
    patients = Patient.objects.filter(
        Q(pk__in=check_ins.values("treatment__patient_id"))
        | Q(pk__in=late_checks.values("watch__patient_id"))
    )
    audit.record_many(
        patients.only("pk", "public_id").order_by("pk"),
        AuditAction.CHECK_INS_EXPORTED,
        f"{start}..{end}",
        actor=clinician.user,
        ip_address=ip_address,
    )
    clinician_ids = set(
        Clinician.objects.filter(clinic=clinician.clinic).values_list("user_id", flat=True)
    )
    return _rows(
        check_ins.iterator(chunk_size=2000), late_checks.iterator(chunk_size=2000), clinician_ids
    )
