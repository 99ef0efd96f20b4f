"""Background work, run by Django's tasks framework (`manage.py db_worker` in production).

Each task lives beside the work it runs, and is queued from there without importing this
module: recovery.reminders.send_reminder (a reminder or nudge) and
recovery.login_links.send_login_links ("Email me a new link"). The worker finds a queued
task by its path; these are the paths they were queued under before they moved, kept so
that a task queued before an upgrade still runs.
"""

from __future__ import annotations

from recovery import login_links, reminders

send_reminder = reminders.send_reminder
send_login_links = login_links.send_login_links
