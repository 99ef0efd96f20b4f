"""The database guards the invariants even when the application code is bypassed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from recovery.models import AuditEvent, CheckIn, Patient, Product, Treatment, tel_uri
from tests.helpers import TREATED_ON

pytestmark = pytest.mark.django_db


def raw_check_in(treatment: Treatment, **fields: object) -> CheckIn:
    values: dict[str, object] = {
        "treatment": treatment,
        "local_date": TREATED_ON,
        "day": 0,
        "status": "on_track",
        **dict.fromkeys(("swelling", "redness", "bruising", "lumps", "pain", "itching"), 0),
    }
    values.update(fields)
    return CheckIn.objects.create(**values)


@pytest.mark.parametrize("rating", [-1, 4, 9])
def test_a_rating_outside_0_to_3_cannot_be_stored(treatment: Treatment, rating: int) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_check_in(treatment, swelling=rating)


def test_one_check_in_per_treatment_per_day(treatment: Treatment) -> None:
    raw_check_in(treatment)
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_check_in(treatment)
    raw_check_in(treatment, local_date=TREATED_ON + dt.timedelta(days=1), day=1)
    assert CheckIn.objects.count() == 2


def test_an_unknown_status_cannot_be_stored(treatment: Treatment) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_check_in(treatment, status="fine")


def test_a_patient_needs_an_email_or_a_mobile_number(patient: Patient) -> None:
    patient.email, patient.mobile = "", ""
    with pytest.raises(IntegrityError), transaction.atomic():
        patient.save(update_fields=["email", "mobile"])


def test_course_days_must_be_in_order() -> None:
    product = Product.objects.get(code="bellafill")
    product.expected_max_days = 5  # shorter than the typical week
    with pytest.raises(ValidationError):
        product.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        product.save(update_fields=["expected_max_days"])


def test_bellafill_follows_the_course_of_recovery_course_md() -> None:
    bellafill = Product.objects.get(code="bellafill")
    assert (
        bellafill.early_days,
        bellafill.typical_days,
        bellafill.expected_max_days,
        bellafill.diary_days,
    ) == (3, 7, 14, 30)
    assert Product.objects.filter(code="dermal-filler").exists()


def test_audit_events_cannot_be_changed_or_deleted(patient: Patient) -> None:
    event = AuditEvent.objects.filter(patient=patient).first()
    assert event is not None
    event.action = "something.else"
    with pytest.raises(ValueError, match="cannot be changed"):
        event.save()
    with pytest.raises(ValueError, match="cannot be deleted"):
        event.delete()


@pytest.mark.parametrize(
    ("number", "uri"),
    [
        ("+1 (555) 010-2000", "tel:+15550102000"),
        ("911", "tel:911"),
        ("020 7946 0000", "tel:02079460000"),
    ],
)
def test_phone_numbers_become_tel_links(number: str, uri: str) -> None:
    assert tel_uri(number) == uri
