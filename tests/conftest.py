"""Shared pytest configuration: hypothesis profiles bounded for CI (``fuzz`` for long runs)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("fuzz", max_examples=20_000, deadline=None)
settings.load_profile("default")
