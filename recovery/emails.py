"""The emails Aftercare writes from templates/emails/: a clinic's alerts, a patient's
reminders and sign-in links (the clinicians' password reset is Django's view's own).

Each is three templates, `<name>-subject.txt`, `<name>-body.txt` and `<name>-body.html`,
rendered with one context and sent from DEFAULT_FROM_EMAIL through the configured backend.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def templated_email(
    template: str, context: Mapping[str, object], *, to: list[str]
) -> EmailMultiAlternatives:
    """The email rendered from templates/emails/<template>-*, not yet sent: its subject on
    one line, a plain-text body and the HTML one beside it."""
    subject = render_to_string(f"emails/{template}-subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(line.strip() for line in subject.splitlines() if line.strip()),
        body=render_to_string(f"emails/{template}-body.txt", context),
        to=to,
    )
    message.attach_alternative(
        render_to_string(f"emails/{template}-body.html", context), "text/html"
    )
    return message


def send_templated_email(template: str, context: Mapping[str, object], *, to: list[str]) -> int:
    """Render templates/emails/<template>-* (templated_email) and send it now; how many
    messages went (1), as EmailMessage.send says."""
    return templated_email(template, context, to=to).send()
