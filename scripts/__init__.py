"""Tools beside the app, not part of it: the bench (`scripts/bench/`, `make bench`) and
the icons' drawing (`scripts/make_icons.py`)."""
