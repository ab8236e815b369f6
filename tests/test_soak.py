"""A short simulated soak (the long ones: bench/soak.py): ten minutes of music on a manual clock
with tempo, chord and control changes; every note-on has its note-off."""

from builders import load_bench, write_tiny_model


def test_ten_simulated_minutes_balance_exactly(tmp_path):
    report = load_bench("soak").simulated(10, str(write_tiny_model(tmp_path)), seed=4)
    assert report["notes"] > 1000
    assert report["unbalanced_pitches"] == {}
    assert report["rss_end_mib"] - report["rss_start_mib"] < 20
