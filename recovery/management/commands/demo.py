"""`manage.py demo`: two demo clinics, their clinicians, and patients at every point of recovery.

The data is in recovery.demo: the scenarios (`scenarios`), the demo's own patients
written through the app's write functions (`fixed`), and --patients N generated in
bulk (`generated`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse
from django.utils import timezone

from recovery.demo.fixed import DemoClinic, build_demo
from recovery.demo.generated import Generated, add_generated_patients
from recovery.demo.long_term import add_long_term_patients
from recovery.models import Clinician, Product

# --- The command ---------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Create the demo, or bring it up to date: two clinics (Riverside Skin Clinic, Harbour "
        "Aesthetics), a clinician login for each, and patients at every point of recovery (on "
        "track, slow to improve, persisting past day 14, red flag, missed check-ins, diary "
        "finished). Safe to run again: the demo patients' diaries are rebuilt relative to today "
        "and every demo patient gets a fresh single-use login link. --patients N adds N more "
        "generated patients treated over the last 60 days (they are not listed, and get no "
        "login links: --json reports only their number as extra_patients)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--patients",
            type=int,
            default=0,
            metavar="N",
            help="Also add N generated patients, in bulk and in one transaction.",
        )
        parser.add_argument(
            "--seed", type=int, default=2026, help="Random seed for the generated patients."
        )
        parser.add_argument("--json", action="store_true", help="Print what was created as JSON.")
        parser.add_argument(
            "--long-term",
            action="store_true",
            help=(
                "Also add the long-term watch's patients to the first clinic: one 8 months"
                " after Bellafill who answered yes to a late lump, one due today."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["patients"] < 0:
            raise CommandError("--patients must be 0 or more.")
        now = timezone.now()
        clinics = build_demo(now=now)
        if options["long_term"]:
            add_long_term_patients(clinics[0], now=now)  # issue 13's, kept apart
        generated = None
        if options["patients"] > 0:
            generated = add_generated_patients(
                count=options["patients"],
                clinics=[c.clinic for c in clinics],
                clinicians={c.clinic.pk: [d.user for d in c.clinicians] for c in clinics},
                product=Product.objects.get(code="bellafill"),
                seed=options["seed"],
                now=now,
            )
        if options["json"]:
            self.stdout.write(json.dumps(as_json(clinics=clinics, generated=generated), indent=2))
        else:
            self.stdout.write(summary(clinics=clinics, generated=generated))


def as_json(*, clinics: Sequence[DemoClinic], generated: Generated | None) -> dict[str, object]:
    return {
        "clinics": [
            {
                "name": clinic.clinic.name,
                "clinicians": [
                    {"username": c.username, "password": c.password, "role": c.role}
                    for c in clinic.clinicians
                ],
                "patients": [
                    {
                        "name": p.name,
                        "email": p.email,
                        "state": p.state,
                        "status": p.status,
                        "time_zone": p.time_zone,
                        "treated_on": p.treated_on.isoformat(),
                        "login_url": p.login_url,
                    }
                    for p in clinic.patients
                ],
            }
            for clinic in clinics
        ],
        "extra_patients": generated.patients if generated else 0,
        "extra_check_ins": generated.check_ins if generated else 0,
    }


def summary(*, clinics: Sequence[DemoClinic], generated: Generated | None) -> str:
    patients = sum(len(c.patients) for c in clinics)
    lines = [f"Demo ready: {len(clinics)} clinics, {patients} demo patients as of today.", ""]
    for clinic in clinics:
        lines.append(f"{clinic.clinic.name} ({clinic.clinic.time_zone})")
        for c in clinic.clinicians:
            role = " (clinic admin)" if c.role == Clinician.Role.ADMIN else ""
            lines.append(f"  clinician: {c.username} / password {c.password}{role}")
        for p in clinic.patients:
            lines.append(f"  {p.name} — {p.state}")
            lines.append(f"    {p.login_url}")
        lines.append("")
    lines.append(f"Clinicians sign in at {settings.SITE_URL}{reverse('clinic:sign_in')}.")
    lines.append(
        f"Patient links work once and expire after {settings.LOGIN_LINK_MAX_AGE_HOURS} hours; "
        "run `manage.py demo` again for fresh ones."
    )
    if generated is not None:
        lines.append(
            f"Added {generated.patients:,} generated patients with {generated.check_ins:,} "
            f"check-ins in {generated.seconds:.1f} s."
        )
    return "\n".join(lines)
