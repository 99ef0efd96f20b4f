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
from recovery.forms import LinkRequestForm, SignInLinkForm
from recovery.views.types import HtmxHttpRequest

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
@require_http_methods(["GET", "POST"])
def login_link(request: HtmxHttpRequest) -> HttpResponse:
    """The page a sign-in link opens, /l/#<token>, and its "Sign in" button.

    The token is the link's fragment, which browsers never send: the server, its access log
    and any proxy only ever see GET /l/. The page's script (sign-in-link.js) puts the token
    in the form and takes it out of the address bar; without JavaScript the patient pastes
    the link. Looking at the page uses nothing up (mail scanners follow links); pressing
    "Sign in" posts the token, which redeems the link.
    """
    if request.method == "GET":
        return render(request, "recovery/login_link.html", {"form": SignInLinkForm()})
    form = SignInLinkForm(request.POST)
    if not form.is_valid():
        return render(request, "recovery/login_link.html", {"form": form}, status=422)
    token = form.cleaned_data["token"]
    if not token:
        return _link_problem(request, login_links.LinkProblem.UNKNOWN)
    try:
        patient = login_links.redeem_login_link(
            token_hash=login_links.hash_token(token),
            at=timezone.now(),
            ip_address=audit.client_ip(request),
        )
    except login_links.UnusableLink as error:
        return _link_problem(request, error.problem)
    login(request, patient.user, backend="recovery.access.SignedInPersonBackend")
    request.session.set_expiry(settings.SESSION_COOKIE_AGE)
    return redirect("home")


@require_POST
def sign_out(request: HtmxHttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are signed out. Use the link from your clinic to sign in again.")
    return redirect("sign_in")
