"""Test configuration shared by the whole suite.

Qt must run headless in tests, so the platform is set here, before anything imports Qt,
and never by hand on the command line.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
