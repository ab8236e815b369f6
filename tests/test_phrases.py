"""Line shape measures on small known lines: figures repeated, phrases, rests, register arcs."""

from jazzd.music.grammar import BAR_TICKS, Note
from jazzd.music.phrases import (
    phrase_length_bin,
    phrase_start,
    phrases,
    register_arc,
    repeated_figures,
    rest_shares,
)


def line(pitches, step=6, gaps=()):
    """Eighth notes, with a rest of `step` ticks before each index in `gaps`."""
    notes, at = [], 0
    for i, pitch in enumerate(pitches):
        if i in gaps:
            at += step
        notes.append(Note(at, step, pitch, at // BAR_TICKS))
        at += step
    return notes


def test_repeated_figures_count_exact_repeats_and_sequences():
    figure = [60, 62, 64, 60]
    windows, exact, shape = repeated_figures(line(figure + figure))  # the same four notes again
    assert (windows, exact, shape) == (5, 1, 1)
    windows, exact, shape = repeated_figures(line(figure + [p + 2 for p in figure]))  # a step higher
    assert (windows, exact, shape) == (5, 0, 1)
    assert repeated_figures(line([60, 61, 63, 66, 70, 75]))[1:] == (0, 0)


def test_phrases_split_at_half_a_beat_of_rest_and_say_where_they_start():
    notes = line([60, 62, 64, 65, 67, 69, 71], gaps=(3,))
    split = phrases(notes)
    assert [len(p) for p in split] == [3, 4]
    assert [phrase_start(p) for p in split] == [0, 4]  # the second starts on beat 3
    assert [phrase_length_bin(n) for n in (1, 3, 5, 7, 10, 30)] == [1, 3, 4, 6, 9, 21]
    assert phrases(line([60, 62], step=6, gaps=())) == [line([60, 62])]


def test_rest_shares_per_bar_and_register_arcs():
    notes = [Note(0, 24, 60, 0), Note(BAR_TICKS + 36, 12, 62, 1)]
    assert rest_shares(notes) == [0.5, 0.8]  # half the first bar sounds, a quarter of the second
    assert register_arc(line([60, 67, 64, 59])) == "early peak, ends level"
    assert register_arc(line([60, 62, 72, 55, 50, 52])) == "middle peak, ends down"
    assert register_arc(line([60, 62, 64, 67])) == "late peak, ends up"
    assert register_arc(line([60, 62, 64])) is None  # too short to have an arc
