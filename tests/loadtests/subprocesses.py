"""The environment for Locust and ``serve`` subprocesses started by these tests."""

from __future__ import annotations

import os

SKIP_PATCH = "LOCUST_SKIP_MONKEY_PATCH"


def locust_env() -> dict[str, str]:
    """This process's environment without the monkey-patch switch and the backend URLs."""
    scrubbed = {SKIP_PATCH, "DATABASE_URL", "REDIS_URL", "YOUTUBE_URL", "BROKER_URL"}
    return {k: v for k, v in os.environ.items() if k not in scrubbed}
