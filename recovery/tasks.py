"""Background work, run by Django's tasks framework (`manage.py db_worker` in production)."""

from __future__ import annotations

import datetime as dt

from django.tasks import task

from recovery import login_links, reminder_rules, reminders


@task()
def send_reminder(patient_id: int, kind: str) -> str:
    """Send one reminder or nudge to a patient; returns the channel used."""
    return reminders.deliver(patient_id=patient_id, kind=reminder_rules.Kind(kind))


@task()
def send_login_links(patient_ids: list[int], at: str) -> int:
    """ "Email me a new link", asked for at `at` (ISO 8601): a link to each patient with
    the address given (none, for an unknown one); returns how many were sent."""
    return login_links.email_login_links_to(
        patient_ids=patient_ids, at=dt.datetime.fromisoformat(at)
    )
