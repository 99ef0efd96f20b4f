from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from recovery import reminders


class Command(BaseCommand):
    help = (
        "Queue the reminders and missed-check-in nudges due now, and refresh the dashboard. "
        "During the diary, once the patient's local time passes their reminder time, a "
        "patient with reminders on and no check-in today gets one reminder a day; after two "
        "days without a check-in, a gentle nudge instead (once per missed stretch). Nothing "
        "after the diary ends. Run every few minutes, with `manage.py db_worker` sending."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = reminders.sweep(now=timezone.now())
        self.stdout.write(result.summary())
