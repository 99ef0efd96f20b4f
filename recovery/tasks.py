"""Background work, run by Django's tasks framework (`manage.py db_worker` in production)."""

from __future__ import annotations

from django.tasks import task

from recovery import reminders


@task()
def send_reminder(patient_id: int, kind: str) -> str:
    """Send one reminder or nudge to a patient; returns the channel used."""
    return reminders.deliver(patient_id=patient_id, kind=reminders.Kind(kind))
