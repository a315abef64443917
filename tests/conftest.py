"""Shared test configuration: hypothesis settings profiles.

``dev`` (the default) keeps local runs quick; ``ci`` runs every property with at least
1,000 examples. Pick one with ``CTXCHUNK_HYPOTHESIS_PROFILE=ci`` (``.ci/run`` does).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=1000,
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("CTXCHUNK_HYPOTHESIS_PROFILE", "dev"))
