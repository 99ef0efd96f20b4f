"""Who may reach the clinic's pages and the admin, checked once for every view.

Clinic staff who are not signed in go to the clinic's sign-in (not the patients'). A
clinician of a clinic that requires two-factor sign-in reaches no clinic or admin page
until they have given a code from their authenticator app in this session: they are
sent to give one, or to set an app up if they have none yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    QueryDict,
)
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django_htmx.http import HttpResponseClientRedirect
from django_otp import user_has_device

from recovery import clinicians

# The pages of signing in and out themselves.
OPEN_WHILE_UNVERIFIED = {
    "clinic": {"sign_in", "verify_code", "two_factor_setup", "sign_out"},
    "admin": {"login", "logout"},
}


class ClinicSignInMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        match = request.resolver_match
        if match is None:
            return None
        area = next((name for name in OPEN_WHILE_UNVERIFIED if name in match.app_names), None)
        if area is None:
            return None
        if not request.user.is_authenticated:
            if area == "clinic" and getattr(view_func, "login_required", True):
                return redirect_to_login(request.get_full_path(), reverse("clinic:sign_in"))
            return None
        if match.url_name in OPEN_WHILE_UNVERIFIED[area]:
            return None
        clinician = clinicians.signed_in_clinician(request)
        if clinician is None:
            return None
        if area == "admin" and request.session.get_expiry_age() > settings.CLINICIAN_SESSION_AGE:
            # Signed in through the admin's own login page: as short as the clinic's sign-in.
            request.session.set_expiry(settings.CLINICIAN_SESSION_AGE)
        if not clinicians.needs_code(request, clinician):
            return None
        step = "clinic:verify_code" if user_has_device(request.user) else "clinic:two_factor_setup"
        url = f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}"
        if request.headers.get("HX-Request") == "true":
            return HttpResponseClientRedirect(url)
        return HttpResponseRedirect(url)


# The request's text, refused before any view reads it --------------------------------------

FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


class RefuseNulMiddleware:
    """A NUL character anywhere in the path, a query or a form value: 400, nothing read.

    Nobody types one; PostgreSQL cannot store or even compare one in text (a query with it
    is a server error, not a miss), and SQLite would keep it silently. Refused here, once,
    rather than in each form. (JSON bodies are checked where they are parsed.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if "\x00" in request.path or _has_nul(request.GET):
            return _nul_refused()
        form = request.method == "POST" and request.content_type in FORM_TYPES
        # request.body first: read once and kept, the view may still read it (not the stream).
        if form and request.body is not None and _has_nul(request.POST):
            return _nul_refused()
        return self.get_response(request)


def _has_nul(data: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in data.lists())


def _nul_refused() -> HttpResponse:
    return HttpResponseBadRequest(
        "This request holds a character that is not allowed (NUL).", content_type="text/plain"
    )


class NoStoreMiddleware:
    """No page of the site is kept by a browser's or a proxy's cache: they show patient data,
    or who is signed in (Cache-Control: no-store, private). A view that says otherwise (the
    manifest, the service worker) keeps its own. Static files never reach here (whitenoise
    serves them, cached for a year under hashed names), and the service worker keeps the
    patient's pages the offline path needs in its own cache, which signing out empties.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response
