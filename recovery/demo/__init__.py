"""The demo (`manage.py demo`): two clinics, their clinicians, and patients at every point
of recovery; with --patients N, many more generated patients for the bench.

Not product code, and kept apart from it: the scenarios are data (`scenarios`), the demo's
own patients are written through the app's write functions (`fixed`), and only the
generated ones (`generated`) go through a bulk writer of their own (`bulk`), which the
tests check against the write functions.
"""
