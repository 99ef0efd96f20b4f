"""The bench (`make bench`, `python -m scripts.bench`): latencies of the main pages against
gunicorn, the dashboard's growth with the clinic, the check-in page's weight in Chromium,
and a concurrent run, on scratch databases. A tool beside the app, not part of it:
docs/benchmark.md says what it does and how to read it.
"""
