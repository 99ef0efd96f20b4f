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
        "each is claimed once: sweeps running at once never send one twice. Run every few "
        "minutes, with `manage.py db_worker` sending."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = reminders.sweep(now=timezone.now())
        self.stdout.write(result.summary())
