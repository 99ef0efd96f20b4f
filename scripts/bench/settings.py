"""The settings of the bench's scratch server and of its steps on the scratch database.

The app's own, every one of them as production reads them from the environment (the
bench sets DEBUG=false and the rest, scripts/bench/workspace.py), but for two: static
files are collected into the run's scratch folder, never the project's staticfiles/, and
the URLs are the app's and the bench's reference page (scripts/bench/urls.py).
"""

import os

from config import settings as app

# Every setting of config/settings.py, unchanged: Django reads a settings module's
# upper-case names, and these are the app's (not its helpers, not its private names).
globals().update(
    {name: getattr(app, name) for name in dir(app) if name.isupper() and name[0] != "_"}
)

# The run's folder (BENCH_STATIC_ROOT, set by the bench); unset, collectstatic refuses.
STATIC_ROOT = os.environ.get("BENCH_STATIC_ROOT", "")
ROOT_URLCONF = "scripts.bench.urls"
# The bench's reference page: what every signed-in patient page costs before its own work.
SIGNED_IN_FLOOR_PATH = "/bench/signed-in-floor/"
