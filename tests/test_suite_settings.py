"""The suite's own settings: what keeps it honest on a loaded CI machine."""

from __future__ import annotations

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings


def test_in_ci_a_slow_property_test_is_slow_not_failed() -> None:
    """Three property tests failed with too_slow with 16 workers on 2 cores (issue 12)."""
    ci = hypothesis_settings.get_profile("ci")

    assert ci.deadline is None
    assert HealthCheck.too_slow in ci.suppress_health_check
    assert ci.max_examples == hypothesis_settings.get_profile("default").max_examples
