"""Getting data out: the CSV export of check-ins, and a patient's audit trail."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from recovery import access, audit, exports
from recovery.forms import ExportForm
from recovery.models import (
    AuditAction,
)
from recovery.views.types import HtmxHttpRequest


@require_GET
def export_check_ins(request: HtmxHttpRequest) -> HttpResponse | StreamingHttpResponse:
    """One row per check-in dated in the range; every patient in it gets an audit row."""
    clinician = access.clinician_for_request(request)
    if not request.GET:
        today = timezone.localdate(timezone=ZoneInfo(clinician.clinic.time_zone))
        form = ExportForm(initial={"start": today - dt.timedelta(days=30), "end": today})
        return render(
            request, "recovery/clinic/export.html", {"form": form, "clinician": clinician}
        )
    form = ExportForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "recovery/clinic/export.html",
            {"form": form, "clinician": clinician},
            status=422,
        )
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    lines = exports.check_ins_csv(
        clinician=clinician, start=start, end=end, ip_address=audit.client_ip(request)
    )
    response = StreamingHttpResponse(lines, content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="aftercare-check-ins-{start}-to-{end}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def audit_trail(request: HtmxHttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Who read or changed this patient's record; for clinic admins. Reading it is audited too."""
    clinician = access.clinic_admin_for_request(request)
    patient = access.patient_for_clinician(clinician, public_id)
    audit.record(request, patient, AuditAction.AUDIT_TRAIL_VIEWED, patient.public_id)
    page = Paginator(audit.trail_of(patient), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "recovery/clinic/audit_trail.html",
        {
            "clinician": clinician,
            "clinic_time_zone": clinician.clinic.time_zone,
            "patient": patient,
            "page": page,
            "rows": audit.with_names(patient, list(page)),
        },
    )
