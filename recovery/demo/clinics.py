"""The demo's two clinics, which are also the tests' personas (tests/conftest.py): one
definition, so what a test reads on a page is what the demo shows.

Riverside Skin Clinic, in New York, is the demo's first clinic and the tests' `clinic`;
Harbour Aesthetics, in London, with another emergency number, the demo's second and the
tests' `other_clinic`. The numbers are reserved for fiction (555-01xx in North America,
020 7946 0xxx in London).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class ClinicDetails:
    """What a clinic's row says, as patients read it."""

    name: str
    phone: str
    after_hours_phone: str
    emergency_number: str
    hours: str
    time_zone: str

    def fields(self) -> dict[str, str]:
        """The Clinic model's fields, by name."""
        return dataclasses.asdict(self)


# fmt: off
RIVERSIDE = ClinicDetails(
    name="Riverside Skin Clinic", time_zone="America/New_York", hours="Mon–Fri 9am–6pm",
    phone="+1 (555) 010-2000", after_hours_phone="+1 (555) 010-2999", emergency_number="911",
)
HARBOUR = ClinicDetails(
    name="Harbour Aesthetics", time_zone="Europe/London", hours="Tue–Sat 10am–7pm",
    phone="+44 20 7946 0000", after_hours_phone="+44 20 7946 0999", emergency_number="999",
)
# fmt: on
