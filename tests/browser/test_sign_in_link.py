"""A sign-in link, /l/#<token>, in a real browser: the token never leaves the phone in a URL.

The browser keeps a URL's fragment to itself: it asks the server for /l/, and the
page's script takes the token out of the address bar and puts it in the form that
"Sign in" posts. Without JavaScript the patient pastes the link instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, Request, expect

from recovery import login_links
from recovery.models import AuditEvent, LoginLink, Patient, Treatment
from tests.browser import PASTE_LINK_LABEL, login_path


def test_a_link_signs_in_without_its_token_ever_in_a_url(
    page: Page, patient: Patient, treatment: Treatment
) -> None:
    path = login_path(patient)
    token = urlsplit(path).fragment
    sent: list[Request] = []
    # Every request of the phone: the page's (as page.on("request") sees them) and its
    # service worker's.
    page.context.on("request", lambda request: sent.append(request))

    page.goto(path)

    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    # The address bar, and the history entry, no longer show the token.
    expect(page).to_have_url(re.compile(r"/l/$"))
    assert token not in page.url
    assert page.evaluate("location.hash") == ""
    expect(page.get_by_label(PASTE_LINK_LABEL)).to_be_hidden()
    assert LoginLink.objects.get().used_at is None  # opening the page used nothing up

    page.get_by_role("button", name="Sign in").tap()

    expect(page.get_by_role("heading", name=f"Hello, {patient.name}")).to_be_visible()
    assert token not in page.url
    assert LoginLink.objects.get().used_at is not None
    assert AuditEvent.objects.filter(action="patient.signed_in").count() == 1
    # No request's URL held the token, nor any of its headers (Referer, HX-Current-URL):
    # only the body of the one POST that "Sign in" sent.
    assert sent, "the browser's requests were not seen"
    assert [r.url for r in sent if token in r.url] == []
    headers = {r.url: r.all_headers() for r in sent}
    assert [(url, h) for url, h in headers.items() if token in " ".join(h.values())] == []
    posts = [r for r in sent if r.method == "POST"]
    assert [urlsplit(r.url).path for r in posts] == ["/l/"]
    assert token in (posts[0].post_data or "")
    # Back from home: the page the link opened, without the token (loaded afresh: no-store).
    with page.expect_response(re.compile(r"/l/$")) as reloaded:
        page.go_back()
    assert reloaded.value.status == 200
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    expect(page.get_by_label(PASTE_LINK_LABEL)).to_be_visible()  # nothing to read any more
    page.wait_for_load_state()
    assert token not in page.url


def test_a_link_pasted_on_a_phone_without_javascript_signs_in(
    new_context: Callable[..., BrowserContext], patient: Patient, treatment: Treatment
) -> None:
    page = new_context(java_script_enabled=False).new_page()
    url = login_links.issue_login_link(patient=patient, at=timezone.now())

    page.goto(url.removeprefix(settings.SITE_URL))
    field = page.get_by_label(PASTE_LINK_LABEL)
    expect(field).to_be_visible()
    field.fill(url)
    page.get_by_role("button", name="Sign in").tap()

    expect(page.get_by_role("heading", name=f"Hello, {patient.name}")).to_be_visible()
    assert LoginLink.objects.get().used_at is not None


def test_a_link_opened_again_after_it_was_used_is_refused(
    new_context: Callable[..., BrowserContext], patient: Patient, treatment: Treatment
) -> None:
    path = login_path(patient)
    first, second = new_context().new_page(), new_context().new_page()
    first.goto(path)
    second.goto(path)  # both phones show the page: neither has used the link yet

    first.get_by_role("button", name="Sign in").tap()
    expect(first.get_by_role("heading", name=f"Hello, {patient.name}")).to_be_visible()
    second.get_by_role("button", name="Sign in").tap()

    expect(second.get_by_role("heading", name="This link can't be used")).to_be_visible()
    expect(second.get_by_text("This sign-in link has already been used.")).to_be_visible()
    assert AuditEvent.objects.filter(action="patient.signed_in").count() == 1
