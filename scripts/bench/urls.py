"""The scratch server's URLs (scripts/bench/settings.py): the app's, and the bench's
reference page, which only the bench's own server serves."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns
from recovery import access, audit
from recovery.models import AuditAction
from scripts.bench.settings import SIGNED_IN_FLOOR_PATH


def signed_in_floor(request: HttpRequest) -> HttpResponse:
    """What every signed-in patient page does before its own work: the session and the
    patient with their clinic, their current treatment, an audit row, and the smallest page
    (through the base template, its header and sign-out form)."""
    patient = access.patient_for_request(request)
    access.current_treatment(patient, today=patient.today())
    # What every signed-in patient page writes (recovery.views.patient.home does the same).
    audit.record(request, patient, AuditAction.HOME_VIEWED)
    return render(
        request,
        "recovery/patient/refused.html",
        {"message": "The bench's reference page.", "clinic": patient.clinic},
    )


urlpatterns = [path(SIGNED_IN_FLOOR_PATH.removeprefix("/"), signed_in_floor), *app_urlpatterns]
