from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """The site's name, and whether the page is the clinic's (its error pages then look
    like the clinic's, with htmx and no patient's offline script)."""
    return {
        "site_name": settings.SITE_NAME,
        "clinic_side": request.path.startswith("/clinic/"),
    }
