"""Clinic staff sign in with email and password, then a code from an authenticator app
where their clinic requires two-factor sign-in.

Wrong passwords are counted by django-axes (config/settings.py, AXES_*): after too many
the account is locked for a while and `locked_out` says so. A wrong email, a wrong
password and a patient's email look the same from outside. Signing in is not a read of
a patient record, so it writes no audit row (axes keeps its own log of sign-ins).
"""

from __future__ import annotations

import base64
import math
from typing import Any
from urllib.parse import urlencode

import django_otp
import segno
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.util import random_hex

from recovery import access, clinicians
from recovery.forms import CodeForm, SignInForm
from recovery.models import Clinician
from recovery.views.types import HtmxHttpRequest

WRONG_EMAIL_OR_PASSWORD = "Email or password is wrong."
WRONG_CODE = "That code is wrong or has expired. Enter the newest code from your app."
TOO_MANY_CODES = "Too many wrong codes. Wait a minute, then enter the newest code from your app."

# While an authenticator app is being set up, its secret waits in the session (not in the
# database) until the clinician proves their app has it by entering a code.
PENDING_SECRET = "two_factor_pending_secret"


def _next_url(request: HttpRequest) -> str:
    """Where to go after signing in: `next` if it stays on this site, else the dashboard."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("clinic:dashboard")


def _with_next(view_name: str, next_url: str) -> str:
    url = reverse(view_name)
    if next_url == reverse("clinic:dashboard"):
        return url
    return f"{url}?{urlencode({'next': next_url})}"


def _sign_in_page(
    request: HttpRequest,
    form: SignInForm,
    *,
    next_url: str,
    status: int = 200,
    locked_message: str = "",
) -> HttpResponse:
    return render(
        request,
        "recovery/clinic/sign_in.html",
        {"form": form, "next": next_url, "locked_message": locked_message},
        status=status,
    )


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The answer to a sign-in while the account is locked (django-axes' AXES_LOCKOUT_CALLABLE),
    on the clinic's sign-in page and on the admin's: how long to wait, nothing else."""
    cool_off = get_cool_off(request)
    if cool_off:
        minutes = max(1, math.ceil(cool_off.total_seconds() / 60))
        message = f"Too many attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}."
    else:
        message = "Too many attempts; ask your clinic's Aftercare administrator to unlock you."
    return _sign_in_page(
        request,
        SignInForm(),
        next_url=reverse("clinic:dashboard"),
        status=settings.AXES_HTTP_RESPONSE_CODE,
        locked_message=message,
    )


@login_not_required
@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def sign_in(request: HtmxHttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    if request.method == "GET":
        if clinicians.signed_in_clinician(request) is not None:
            return redirect(next_url)
        return _sign_in_page(request, SignInForm(), next_url=next_url)

    form = SignInForm(request.POST)
    if not form.is_valid():
        return _sign_in_page(request, form, next_url=next_url, status=422)
    username = clinicians.account_username(form.cleaned_data["email"])
    user = authenticate(request, username=username, password=form.cleaned_data["password"])
    if user is not None and not Clinician.objects.filter(user=user).exists():
        # Not a clinic account (a superuser, say): refused and counted like a wrong password.
        user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
        user = None
    if user is None:
        # Past the limit, axes' middleware swaps this page for `locked_out`.
        form.add_error(None, WRONG_EMAIL_OR_PASSWORD)
        return _sign_in_page(request, form, next_url=next_url, status=422)

    login(request, user)
    request.session.set_expiry(settings.CLINICIAN_SESSION_AGE)
    clinician = clinicians.signed_in_clinician(request)
    if clinician is not None and clinicians.needs_code(request, clinician):
        if clinicians.confirmed_device(user) is None:
            return redirect(_with_next("clinic:two_factor_setup", next_url))
        return redirect(_with_next("clinic:verify_code", next_url))
    return redirect(next_url)


@never_cache
@require_http_methods(["GET", "POST"])
def verify_code(request: HtmxHttpRequest) -> HttpResponse:
    clinician = access.clinician_for_request(request)
    next_url = _next_url(request)
    if not clinicians.needs_code(request, clinician):
        return redirect(next_url)
    device = clinicians.confirmed_device(clinician.user)
    if device is None:
        return redirect(_with_next("clinic:two_factor_setup", next_url))

    form = CodeForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                form.add_error("code", TOO_MANY_CODES)
                status = 429
            elif verified := django_otp.verify_token(
                request.user, device.persistent_id, form.cleaned_data["code"]
            ):
                django_otp.login(request, verified)
                return redirect(next_url)
            else:
                form.add_error("code", WRONG_CODE)
    return render(
        request,
        "recovery/clinic/verify_code.html",
        {"form": form, "next": next_url, "clinic": clinician.clinic},
        status=status,
    )


def _qr_svg(device: Any) -> SafeString:
    """The provisioning URL as an inline SVG QR code, drawn here: the secret goes nowhere else."""
    svg = segno.make(device.config_url, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", svgclass=None, lineclass=None
    )
    labelled = svg.replace(
        "<svg ", '<svg role="img" aria-label="QR code for your authenticator app" ', 1
    )
    return mark_safe(labelled)  # segno's own markup; nothing typed by anyone is in it


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HtmxHttpRequest) -> HttpResponse:
    """Add an authenticator app: scan the QR code (or type the key), then enter a code."""
    clinician = access.clinician_for_request(request)
    user = clinician.user
    next_url = _next_url(request)
    if not clinician.clinic.requires_two_factor:
        return redirect(next_url)
    if clinicians.confirmed_device(user) is not None:
        if clinicians.needs_code(request, clinician):
            return redirect(_with_next("clinic:verify_code", next_url))
        messages.info(request, "Your authenticator app is already set up.")
        return redirect(next_url)

    secret = request.session.get(PENDING_SECRET)
    if not isinstance(secret, str):
        secret = random_hex(20)
        request.session[PENDING_SECRET] = secret

    form = CodeForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            try:
                device = clinicians.confirm_authenticator(
                    user=user, secret=secret, code=form.cleaned_data["code"], at=timezone.now()
                )
            except clinicians.AlreadySetUp:
                request.session.pop(PENDING_SECRET, None)
                return redirect(_with_next("clinic:verify_code", next_url))
            if device is not None:
                request.session.pop(PENDING_SECRET, None)
                django_otp.login(request, device)
                messages.success(
                    request, "Your authenticator app is set up. Use it at each sign-in."
                )
                return redirect(next_url)
            form.add_error("code", WRONG_CODE)
    device = clinicians.pending_device(user, secret)

    return render(
        request,
        "recovery/clinic/two_factor_setup.html",
        {
            "form": form,
            "next": next_url,
            "clinic": clinician.clinic,
            "qr_svg": _qr_svg(device),
            "secret": _grouped(base64.b32encode(device.bin_key).decode()),
        },
        status=status,
    )


@login_not_required
@require_POST
def sign_out(request: HtmxHttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("clinic:sign_in")
