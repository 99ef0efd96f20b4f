"""Aftercare in a real Chromium, at the size of a small phone (360 x 740 CSS pixels).

The helpers below are what every browser test checks a patient page with:
axe's accessibility rules, nothing wider than the screen, and tap targets a
thumb can hit.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import FloatRect, Page, expect

from recovery.login_links import issue_login_link
from recovery.models import Patient

PHONE_WIDTH, PHONE_HEIGHT = 360, 740
MIN_TAP_TARGET = 44  # CSS pixels, WCAG 2.5.5 (the stylesheet aims for 48 and more)

_axe = Axe()


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now, one readable line per failing rule."""
    results = _axe.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(", ".join(node["target"]) for node in v["nodes"])
        for v in results.response["violations"]
    ]


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the phone's screen (0 when it fits)."""
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return max(0, width - PHONE_WIDTH)


# Links that are part of a sentence ("When closed: <a>+1 555…</a>.") are exempt,
# as in WCAG 2.5.5's inline exception: their height is the line's. A link is in a
# sentence when its paragraph (p, li, dd, td) has words outside its links; a
# link alone in a paragraph, or with only punctuation beside it, is a tap target.
_SMALL_TAP_TARGETS_JS = """
(min) => {
  const main = document.querySelector("main");
  const selector = "a[href], button, label.choice, label.sign, summary, select, textarea, "
    + "input:not([type=hidden]):not([type=radio]):not([type=checkbox])";
  const describe = (el) =>
    `<${el.tagName.toLowerCase()}> "${el.textContent.trim().replace(/\\s+/g, " ")}"`;
  const inSentence = (el) => {
    const block = el.closest("p, li, dd, td");
    if (!block || !main.contains(block)) return false;
    let words = block.textContent;
    for (const link of block.querySelectorAll("a")) words = words.replace(link.textContent, "");
    return /\\p{L}/u.test(words);
  };
  const small = [], exempt = [];
  for (const el of main.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not rendered (a closed <details>)
    if (el.tagName === "A" && getComputedStyle(el).display === "inline" && inSentence(el)) {
      exempt.push(describe(el));
      continue;
    }
    // An inline link that wraps is two boxes of one line each: the thumb hits one.
    const height = Math.min(...Array.from(el.getClientRects(), (r) => r.height));
    if (height < min) small.push(`${describe(el)} is ${height.toFixed(1)}px tall`);
  }
  return {small, exempt};
}
"""


def tap_targets(page: Page) -> dict[str, list[str]]:
    """Tap targets in <main> under MIN_TAP_TARGET tall ("small"), and the inline links let off."""
    # Measured once the stylesheet applies (a page just navigated to may not have it yet:
    # a button would read as an inline link in a sentence).
    page.wait_for_load_state("load")
    result: dict[str, list[str]] = page.evaluate(_SMALL_TAP_TARGETS_JS, MIN_TAP_TARGET)
    return result


def page_problems(page: Page) -> list[str]:
    """Everything wrong with a patient page at 360px: axe, overflow and small tap targets."""
    problems = [f"axe: {line}" for line in axe_violations(page)]
    if overflow := horizontal_overflow(page):
        problems.append(f"the page is {overflow}px wider than the {PHONE_WIDTH}px screen")
    problems += [f"tap target: {line}" for line in tap_targets(page)["small"]]
    return problems


def login_path(patient: Patient) -> str:
    """A fresh sign-in link for `patient`, as a path on the live server: "/l/#<token>" (the
    token is the fragment, which the browser keeps to itself; the page posts it)."""
    url = issue_login_link(patient=patient, at=timezone.now())
    assert url.startswith(settings.SITE_URL + "/l/#")
    return url.removeprefix(settings.SITE_URL)


PASTE_LINK_LABEL = "Paste the whole link from your email or the code after #"


def sign_in(page: Page, patient: Patient, *, javascript: bool = True) -> None:
    """Open a fresh sign-in link and press "Sign in", as from the clinic's email. Without
    JavaScript the page cannot read the link's fragment: paste the link, as it asks."""
    page.goto(login_path(patient))
    if javascript:
        expect(page).to_have_url(re.compile(r"/l/$"))  # the page's script took the token
    else:
        page.get_by_label(PASTE_LINK_LABEL).fill(page.url)
    page.get_by_role("button", name="Sign in").tap()
    expect(page.get_by_role("heading", name=f"Hello, {patient.name}")).to_be_visible()


def box_in_first_screen(box: FloatRect | None) -> bool:
    """Whether a bounding box is wholly on the phone's screen without scrolling."""
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] + box["height"] <= PHONE_HEIGHT
        and box["x"] >= 0
        and box["x"] + box["width"] <= PHONE_WIDTH
    )


def screenshot(page: Page, name: str) -> None:
    """With SCREENSHOTS_DIR set, keep a picture of the page to judge its layout by eye."""
    if folder := os.environ.get("SCREENSHOTS_DIR"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(folder) / f"{name}.png", full_page=True)
