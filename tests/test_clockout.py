"""The clock out's ticks: 24 a beat from where it starts, Stop at the beat the tune ends, and a
Stop owed only while it ticks."""

from jazzd.live.clockout import ClockOut


def test_ticks_fall_24_a_beat_and_stop_where_the_tune_ends():
    out = ClockOut()
    assert not out.ticking and out.next_beat() == float("inf") and not out.end()
    out.start(2.0)
    out.stop_at(3.0)
    beats, kinds = [], []
    while out.ticking:
        beats.append(out.next_beat())
        kinds.append(out.take().type)
    assert kinds == ["clock"] * 24 + ["stop"]
    assert beats[:3] == [2.0, 2.0 + 1 / 24, 2.0 + 2 / 24] and beats[-1] == 3.0
    out.start(0.0)
    assert out.end() and not out.ticking and not out.end()  # a Stop owed once
