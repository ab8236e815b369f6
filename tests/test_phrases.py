"""Line shape measures on small known lines, and the motif memory's following of a figure."""

import itertools

from jazzd.music.chords import parse_chord
from jazzd.music.grammar import BAR_TICKS, Note, Token
from jazzd.music.phrases import (
    phrase_length_bin,
    phrase_start,
    phrases,
    register_arc,
    repeated_figures,
    rest_shares,
)
from jazzd.realize import MotifMemory


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


def test_the_motif_memory_restates_a_figure_exactly_over_its_chord_and_as_a_sequence_elsewhere():
    c7, f7 = parse_chord("C7"), parse_chord("F7")
    memory = MotifMemory(follow=1.0, seed=0)
    played = [
        (60, "C"),
        (62, "S"),
        (64, "C"),
        (67, "C"),
        (70, "C"),
        (72, "C"),
        (74, "S"),
        (76, "C"),
        (79, "C"),
    ]
    for pitch, kind in played:
        memory.remember(pitch, kind, c7)
    pitches = [p for p, _ in played]
    memory.last_pitch = 65
    memory.begin(Token("C", 6), c7, (48, 84))  # over C7 again: a figure played over C7, exactly
    plan = [p for p, _ in memory.plan]
    assert len(plan) >= 4 and any(pitches[i : i + len(plan)] == plan for i in range(len(pitches)))
    assert 0 < abs(plan[0] - 65) <= 7  # starting near the line
    memory.plan = []
    memory.begin(Token("C", 6), f7, (48, 84))  # over F7, never played: the same shape from a chord tone
    plan = [p for p, _ in memory.plan]
    shape = [b - a for a, b in itertools.pairwise(plan)]
    played_shape = [b - a for a, b in itertools.pairwise(pitches)]
    assert len(plan) >= 4 and f7.note_type(plan[0]) == "C" and 0 < abs(plan[0] - 65) <= 7
    assert plan not in [pitches[i : i + len(plan)] for i in range(len(pitches))]  # not the same pitches
    assert any(played_shape[i : i + len(shape)] == shape for i in range(len(played_shape)))


def test_a_plan_draws_tokens_of_the_planned_kind_and_ends_when_the_harmony_moves():
    c7, db7 = parse_chord("C7"), parse_chord("Db7")
    parsed = [Token("C", 6), Token("S", 6), Token("R", 6)]
    memory = MotifMemory(follow=1.0, seed=0)
    memory.plan = [(62, "S"), (64, "C")]
    draws = iter([2, 0, 1])  # a rest, a chord tone, then the scale tone wanted
    assert memory.choose(0, lambda: next(draws), parsed, c7, (48, 84)) == (1, 62)
    assert memory.plan == [(64, "C")] and memory.last_pitch == 62
    token_id, pitch = memory.choose(1, lambda: 0, parsed, db7, (48, 84))  # E is no Db7 chord tone
    assert pitch is None and memory.plan == [] and token_id == 1


def test_motif_memory_makes_lines_come_back_to_their_figures(tmp_path):
    from builders import write_tiny_model

    from jazzd.engine import Engine
    from jazzd.music.timeline import ChordTimeline
    from jazzd.realize import Soloist

    timeline = ChordTimeline.looped("| C7 | F7 |")
    lines = {}
    for follow in (0.0, 1.0):
        soloist = Soloist(Engine(write_tiny_model(tmp_path), seed=3), seed=3, motifs=follow)
        lines[follow] = list(soloist.play(timeline.chord_at, 0, 32 * BAR_TICKS))
    repeats = {f: repeated_figures(notes)[1] / repeated_figures(notes)[0] for f, notes in lines.items()}
    assert repeats[1.0] > repeats[0.0] + 0.05
    assert all(timeline.chord_at(n.onset).note_type(n.pitch) in "CSAX" for n in lines[1.0])
    assert all(55 <= n.pitch <= 84 for n in lines[1.0])  # the register holds
