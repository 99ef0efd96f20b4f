"""The demo's long-term watch patients (issue 13), kept apart from the scenarios: one 8
months after a Bellafill treatment who answered yes to a late lump (an alert open, on the
dashboard's long-term group), and one whose first long-term check-in is due today.

Written through the app's write functions with explicit `at=`/`today=`: enrolled (once; a
re-run starts their record afresh, as recovery.demo.fixed does), the treatment recorded,
the long-term check-in sent, then the clinic's watches and rows swept at `now`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from recovery import course, long_term, triage
from recovery.demo.fixed import DemoClinic, DemoPatient, demo_patient, record_visit, save_patient
from recovery.demo.scenarios import PatientSpec, Scenario, patients

# Only labels: the long-term patients keep no diary of their first weeks here.
LUMP_ANSWERED = Scenario("answered yes to a late lump", days_since_treatment=0, checked_in=())
CHECK_IN_DUE = Scenario("long-term check-in due today", days_since_treatment=0, checked_in=())
LATE_LUMP, DUE_NOW = patients(
    ("Greta Long", "greta.long@example.com", "1971-03-09", LUMP_ANSWERED, "+1 212 555 0188"),
    ("Hugo Due", "hugo.due@example.com", "1980-06-02", CHECK_IN_DUE, "+1 212 555 0189"),
)


def _treated(spec: PatientSpec, demo: DemoClinic, *, months: int, now: dt.datetime) -> DemoPatient:
    patient = save_patient(clinic=demo.clinic, spec=spec)
    today = timezone.localdate(now, timezone=ZoneInfo(patient.time_zone))
    treated_on = course.add_months(today, -months)
    treatment = record_visit(patient=patient, spec=spec, treated_on=treated_on, now=now)
    if spec is LATE_LUMP:
        long_term.record_late_check(
            patient=patient,
            answers=long_term.LateAnswers(
                lump=True,
                context=frozenset({"recent_dental_work"}),
                note="A firm bump under the left cheek since last week.",
            ),
            entered_by=patient.user,
            at=now - dt.timedelta(hours=2),
        )
    return demo_patient(
        patient,
        treatment,
        state=f"{months} months on, {spec.scenario.label}",
        status="contact_clinic" if spec is LATE_LUMP else "diary_finished",
        now=now,
    )


def add_long_term_patients(demo: DemoClinic, *, now: dt.datetime) -> None:
    """Add the two long-term patients to the demo clinic `demo` (its list of patients)."""
    with transaction.atomic():
        demo.patients.append(_treated(LATE_LUMP, demo, months=8, now=now))
        demo.patients.append(_treated(DUE_NOW, demo, months=2, now=now))
        long_term.sweep_watches(now=now, clinic=demo.clinic)
        triage.sweep_triage(now=now, clinic=demo.clinic)
