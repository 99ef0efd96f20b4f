"""The demo (`manage.py demo`): two clinics, their clinicians, and patients at every point
of recovery; with --patients N, many more generated patients for the bench.

Not product code, and kept apart from it: the scenarios are data (`scenarios`), the demo's
own patients are written by `fixed`, the generated ones by `generated`, and both through
the bulk writer (`bulk`), checked against the app's write functions by the tests.
"""
