"""The patient's reminder settings, and this phone's Web Push subscription."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from recovery import access, audit, push, reminders
from recovery.forms import ReminderForm
from recovery.guidance import zone_words
from recovery.models import AuditAction, User
from recovery.views.types import HtmxHttpRequest


def _actor(request: HtmxHttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@require_http_methods(["GET", "POST"])
def reminder_settings(request: HtmxHttpRequest) -> HttpResponse:
    patient = access.patient_for_request(request)
    status = 200
    if request.method == "POST":
        form = ReminderForm(request.POST)
        if form.is_valid():
            reminders.update_settings(
                patient=patient,
                reminder_time=form.cleaned_data["reminder_time"],
                reminders_on=form.cleaned_data["reminders_on"],
                actor=_actor(request),
                ip_address=audit.client_ip(request),
            )
            return redirect("reminders")
        status = 422
    current = reminders.settings_for(patient)  # read to show the page: a change redirects
    if request.method != "POST":
        form = ReminderForm(
            initial={"reminder_time": current.reminder_time, "reminders_on": current.reminders_on}
        )
        audit.record(request, patient, AuditAction.REMINDERS_VIEWED)
    return render(
        request,
        "recovery/patient/reminders.html",
        {
            "form": form,
            "patient": patient,
            "clinic": patient.clinic,
            "reminder": current,
            "saved": current.pk is not None,
            "push_enabled": push.enabled(),
            "zone_words": zone_words(patient.time_zone),
            "vapid_public_key": settings.VAPID_PUBLIC_KEY,
            "subscriptions": patient.push_subscriptions.count(),
        },
        status=status,
    )


# A browser's PushSubscription.toJSON() is a few hundred bytes.
MAX_SUBSCRIPTION_BYTES = 4096


def _bad(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


@require_http_methods(["POST", "DELETE"])
def push_subscriptions(request: HtmxHttpRequest) -> HttpResponse:
    """POST: store this phone's subscription (PushSubscription.toJSON()); DELETE: forget it."""
    patient = access.patient_for_request(request)
    if len(request.body) > MAX_SUBSCRIPTION_BYTES:
        return _bad("The body is too long for a subscription.")
    try:
        raw: Any = json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return _bad("The body must be JSON.")
    if request.method == "DELETE":
        endpoint = raw.get("endpoint") if isinstance(raw, dict) else None
        if not isinstance(endpoint, str) or len(endpoint) > 2000 or "\x00" in endpoint:
            return _bad("Give the subscription's endpoint.")
        removed = reminders.delete_subscription(
            patient=patient,
            endpoint=endpoint,
            actor=_actor(request),
            ip_address=audit.client_ip(request),
        )
        return JsonResponse({"removed": removed})
    try:
        data = push.parse_subscription(raw)
    except push.InvalidSubscription as error:
        return _bad(str(error))
    reminders.save_subscription(
        patient=patient, data=data, actor=_actor(request), ip_address=audit.client_ip(request)
    )
    return JsonResponse({"subscribed": True}, status=201)
