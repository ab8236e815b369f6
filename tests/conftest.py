"""Shared fixtures: the real data folder, and small MIDI / CSV files built per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data: always there in CI (a missing folder fails there), skipped elsewhere."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DATA} is missing in CI: the real-data tests must run there")
        pytest.skip(f"{SHARED_DATA} is not on this machine (the real-data tests need it)")
    return SHARED_DATA
