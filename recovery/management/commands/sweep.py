from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from recovery import reminders


class Command(BaseCommand):
    help = (
        "Refresh the dashboard, then queue the reminders and missed-check-in nudges due now. "
        "The daily reminder: during the diary, once the patient's local time passes their "
        "reminder time, a patient with reminders on who hasn't checked in that day gets one "
        "reminder that day. The missed-check-in nudge: after two days without a check-in, a "
        "gentle nudge instead, once per missed stretch. At most one a day, nothing after the "
        "diary ends. Only the treatments whose stored reminder time has come are read, and "
        "each is claimed once: sweeps running at once never send one twice. The long-term "
        "reminder: when a long-term check-in falls due and is unanswered (the watch neither "
        "stopped nor ended), one reminder from the patient's reminder time on its due date. "
        "The long-term nudge: still unanswered a week later, one nudge; then nothing more "
        "for that due date. Diary and long-term share the one-a-day limit: a day the diary "
        "took, the long-term reminder comes the next day. Run every few "
        "minutes, with `manage.py db_worker` sending."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = reminders.sweep(now=timezone.now())
        self.stdout.write(result.summary())
