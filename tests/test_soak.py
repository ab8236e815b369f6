"""A short simulated soak (the long ones: bench/soak.py): ten minutes of music on a manual clock
with tempo, chord and control changes; every note-on has its note-off."""

import importlib.util
from pathlib import Path

from builders import write_tiny_model

SOAK = Path(__file__).resolve().parents[1] / "bench" / "soak.py"


def test_ten_simulated_minutes_balance_exactly(tmp_path):
    spec = importlib.util.spec_from_file_location("soak", SOAK)
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    report = soak.simulated(10, str(write_tiny_model(tmp_path)), seed=4)
    assert report["notes"] > 1000
    assert report["unbalanced_pitches"] == {}
    assert report["rss_end_mib"] - report["rss_start_mib"] < 20
