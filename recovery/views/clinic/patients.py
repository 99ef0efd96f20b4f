"""One patient, as the clinic sees them: the timeline (the phone check-in is views/check_in.py)."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from recovery import access, audit, course, timeline
from recovery.forms import resolve_form_for
from recovery.guidance import SYMPTOM_LABELS
from recovery.models import AuditAction, tel_uri
from recovery.views.types import HtmxHttpRequest


@require_http_methods(["GET"])
def patient(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Everything about one patient of the clinic, the open alert first."""
    clinician = access.clinician_for_request(request)
    patient = access.patient_for_clinician(clinician, public_id)
    today = patient.today()
    zone = ZoneInfo(clinician.clinic.time_zone)
    page = timeline.timeline_of(patient, today=today, now=timezone.now(), clinic_zone=zone)
    context = {
        "clinician": clinician,
        "clinic_time_zone": clinician.clinic.time_zone,
        "patient": patient,
        "today": today,
        "age": page.age,
        "mobile_uri": tel_uri(patient.mobile),
        "treatments": page.treatments,
        "open_alerts": [(p, resolve_form_for(p.alert)) for p in page.open_alerts],
        "alert_history": page.alerts,
        "several_treatments": len(page.treatments) > 1,
        "symptoms": [SYMPTOM_LABELS[s] for s in course.SYMPTOMS],
        "diary": page.diary,
        "long_term": page.long_term,
    }
    audit.record(request, patient, AuditAction.PATIENT_VIEWED, patient.public_id)
    return render(request, "recovery/clinic/patient.html", context)
