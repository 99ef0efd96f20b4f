"""The installable app: its web app manifest and its service worker at the root scope.

The service worker's code is vendored in static/js/sw.js; this view serves it from
the site's root (so its scope is the whole site) and fills in its first lines: a
version made from a hash of the static files it caches, and their URLs, so a new
deploy installs a new worker that takes over and drops the old caches.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from recovery.models import Clinic

STATIC_DIR = Path(settings.BASE_DIR) / "static"
SW_SOURCE = STATIC_DIR / "js" / "sw.js"
THEME_COLOR = "#0b5cad"  # --brand in app.css
BACKGROUND_COLOR = "#f3f5f8"  # --wash in app.css
ICONS = (
    ("icons/icon-192.png", 192, "any"),
    ("icons/icon-512.png", 512, "any"),
    ("icons/maskable-192.png", 192, "maskable"),
    ("icons/maskable-512.png", 512, "maskable"),
)
# The app shell: what every patient page needs, cached when the worker installs.
SHELL = ("css/app.css", "js/offline.js")
# What the worker loads with importScripts (those that exist): the check-in outbox,
# and the reminders' Web Push handlers.
WORKER_IMPORTS = ("js/offline.js", "js/push-sw.js")


def _imports() -> list[str]:
    return [path for path in WORKER_IMPORTS if (STATIC_DIR / path).exists()]


def _signed_in_clinic(request: HttpRequest) -> Clinic | None:
    patient = getattr(request.user, "patient", None) if request.user.is_authenticated else None
    return patient.clinic if patient is not None else None


@login_not_required
@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    clinic = _signed_in_clinic(request)
    name = settings.SITE_NAME if clinic is None else f"{settings.SITE_NAME} · {clinic.name}"
    data = {
        "id": "/",
        "name": name,
        "short_name": settings.SITE_NAME,
        "description": "Your daily check-in after your treatment, and what to do.",
        "lang": "en",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": [
            {
                "src": static(path),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": purpose,
            }
            for path, size, purpose in ICONS
        ],
    }
    response = JsonResponse(data, content_type="application/manifest+json")
    # The name depends on who is signed in.
    response["Cache-Control"] = "private, no-cache"
    return response


def _version() -> str:
    digest = hashlib.sha256(SW_SOURCE.read_bytes())
    for path in dict.fromkeys([*SHELL, *_imports(), *(icon for icon, _, _ in ICONS)]):
        digest.update(path.encode())
        digest.update((STATIC_DIR / path).read_bytes())
    return digest.hexdigest()[:16]


@login_not_required
@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    source = SW_SOURCE.read_text(encoding="utf-8")
    imports = json.dumps([static(path) for path in _imports()])
    filled = {
        'const VERSION = "dev";': f"const VERSION = {json.dumps(_version())};",
        "const SHELL = [];": f"const SHELL = {json.dumps([static(p) for p in SHELL])};",
        "const IMPORTS = [];": f"const IMPORTS = {imports};",
    }
    for placeholder, line in filled.items():
        assert placeholder in source, f"sw.js lost its line {placeholder!r}"
        source = source.replace(placeholder, line, 1)
    response = HttpResponse(source, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
