"""Locust patches the whole interpreter with gevent when it is imported: not this test process.

The scenarios' helper modules import Locust, so the variable is set before any test module here is
collected; subprocesses that run Locust for real get an environment without it
(:func:`subprocesses.locust_env`).
"""

from __future__ import annotations

import os

from tests.loadtests.subprocesses import SKIP_PATCH

os.environ.setdefault(SKIP_PATCH, "1")
