"""Background work, run by Django's tasks framework (`manage.py db_worker` in production).

The reminders' task is recovery.reminders.send_reminder, beside the sending it runs: the
sweep queues it without importing this module, which imports the domain modules (and
login_links imports it only when it queues).
"""

from __future__ import annotations

import datetime as dt

from django.tasks import task

from recovery import login_links, reminders

# Reminders queued under this name before the task moved (the worker finds a queued task
# by its path): still sent.
send_reminder = reminders.send_reminder


@task()
def send_login_links(patient_ids: list[int], at: str) -> int:
    """ "Email me a new link", asked for at `at` (ISO 8601): a link to each patient with
    the address given (none, for an unknown one); returns how many were sent."""
    return login_links.email_login_links_to(
        patient_ids=patient_ids, at=dt.datetime.fromisoformat(at)
    )
