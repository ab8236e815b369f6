"""The input reader's arrival times: rtmidi's delta times anchored to our clock."""

import itertools

import pytest

from jazzd.live.reader import ArrivalTimes


def test_arrival_times_follow_the_deltas_not_the_reads():
    times = ArrivalTimes()
    arrivals = [10.0 + 0.0125 * i for i in range(40)]  # a tick stream, arrived on our clock
    deltas = [0.0] + [b - a for a, b in itertools.pairwise(arrivals)]
    placed = []
    for i in range(0, 40, 4):  # read in batches, up to 3 ms after the last of each arrived
        read_at = arrivals[i + 3] + [0.003, 0.0002, 0.002, 0.001, 0.0025][i // 4 % 5]
        placed += times.place(deltas[i : i + 4], read_at)
    # the anchor tightens to the closest read (0.2 ms late) and holds (drifting 20 µs/s at most)
    assert all(abs(p - a - 0.0002) < 2e-5 for p, a in zip(placed[4:], arrivals[4:], strict=True))
    assert all(p - a <= 0.003 + 1e-7 for p, a in zip(placed, arrivals, strict=True))  # never later than read


def test_the_anchor_moves_late_slowly_when_the_clocks_part():
    times = ArrivalTimes()
    times.place([0.0], 1.0)  # arrived and read at once
    later = times.place([100.0], 101.01)  # 10 ms later than the sum says: the other clock ran slow
    assert later[0] == pytest.approx(101.0 + 20e-6 * 100.01, abs=1e-9)
