"""Signing in and out. Patients have no password: they use a link from their clinic."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from recovery import audit, login_links
from recovery.forms import LinkRequestForm
from recovery.views.types import HtmxHttpRequest

# Between opening a link and pressing "Sign in", the session holds the token's hash.
PENDING_LINK = "pending_login_link"

PROBLEM_WORDS = {
    login_links.LinkProblem.UNKNOWN: (
        "This sign-in link isn't valid. Please check you copied all of it."
    ),
    login_links.LinkProblem.EXPIRED: "This sign-in link has expired.",
    login_links.LinkProblem.USED: "This sign-in link has already been used.",
}


@login_not_required
@require_http_methods(["GET"])
def sign_in(request: HtmxHttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    return render(request, "recovery/sign_in.html", {"form": LinkRequestForm()})


@login_not_required
@require_POST
def request_link(request: HtmxHttpRequest) -> HttpResponse:
    """Email a fresh link. The answer is the same whether or not the address is known."""
    form = LinkRequestForm(request.POST)
    if not form.is_valid():
        return render(request, "recovery/sign_in.html", {"form": form}, status=422)
    login_links.request_login_links(email=form.cleaned_data["email"], at=timezone.now())
    return render(request, "recovery/link_sent.html", {"email": form.cleaned_data["email"]})


def _link_problem(request: HtmxHttpRequest, problem: login_links.LinkProblem) -> HttpResponse:
    return render(
        request,
        "recovery/link_problem.html",
        {"message": PROBLEM_WORDS[problem], "form": LinkRequestForm()},
        status=410 if problem is not login_links.LinkProblem.UNKNOWN else 404,
    )


@login_not_required
@never_cache
@require_http_methods(["GET"])
def login_link(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """Check the link without using it, then move the token out of the URL."""
    try:
        login_links.usable_link(token=token, at=timezone.now())
    except login_links.UnusableLink as error:
        return _link_problem(request, error.problem)
    request.session[PENDING_LINK] = login_links.hash_token(token)
    return redirect("confirm_sign_in")


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def confirm_sign_in(request: HtmxHttpRequest) -> HttpResponse:
    token_hash = request.session.get(PENDING_LINK)
    if not token_hash:
        return redirect("sign_in")
    if request.method == "GET":
        try:
            link = login_links.usable_link_by_hash(token_hash=token_hash, at=timezone.now())
        except login_links.UnusableLink as error:
            return _link_problem(request, error.problem)
        return render(request, "recovery/confirm_sign_in.html", {"clinic": link.patient.clinic})
    try:
        patient = login_links.redeem_login_link(
            token_hash=token_hash, at=timezone.now(), ip_address=audit.client_ip(request)
        )
    except login_links.UnusableLink as error:
        return _link_problem(request, error.problem)
    login(request, patient.user, backend="recovery.access.SignedInPersonBackend")
    request.session.pop(PENDING_LINK, None)
    request.session.set_expiry(settings.SESSION_COOKIE_AGE)
    return redirect("home")


@require_POST
def sign_out(request: HtmxHttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are signed out. Use the link from your clinic to sign in again.")
    return redirect("sign_in")
