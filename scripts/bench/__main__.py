"""`python -m scripts.bench` (what `make bench` runs); `--help` says what it measures."""

import os
import sys

import django


def run() -> int:
    # The app's settings, or in the bench's own subprocesses the bench's (workspace.py).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from scripts.bench.cli import main  # the app's models load once Django is set up

    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(run())
