"""The motif memory and the soloist that follows it: figures restated exactly or as sequences,
each note kept in its role over the chord at its onset, the model's rhythm and balance of kinds
kept, ideas stated before they are developed, and a keyboard's change reaching the next note."""

import itertools

import numpy as np
import pytest

from jazzd.music.chords import parse_chord
from jazzd.music.grammar import BAR_TICKS, Token
from jazzd.music.phrases import repeated_figures
from jazzd.music.vocab import Vocabulary
from jazzd.solo.memory import BALANCE, DEVELOP, LEAP, MotifMemory
from jazzd.solo.soloist import Soloist


def test_the_motif_memory_restates_a_figure_exactly_where_the_chord_allows_it_else_as_a_sequence():
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
        memory.remember(pitch, kind, c7.root)
    pitches = [p for p, _ in played]
    memory.age = DEVELOP  # a line far enough in to develop its ideas
    memory.last_pitch = 65
    memory.begin(Token("C", 6), c7, (48, 84))  # over C7 again: the chord allows a figure exactly
    plan = [p for p, _, _ in memory.plan]
    assert len(plan) >= 4 and any(pitches[i : i + len(plan)] == plan for i in range(len(pitches)))
    assert 0 < abs(plan[0] - 65) <= LEAP  # starting near the line
    memory.plan = []
    memory.begin(Token("C", 6), f7, (48, 84))  # over F7, never played: the same shape from a chord tone
    plan = [p for p, _, _ in memory.plan]
    shape = [b - a for a, b in itertools.pairwise(plan)]
    played_shape = [b - a for a, b in itertools.pairwise(pitches)]
    assert len(plan) >= 4 and f7.note_type(plan[0]) == "C" and 0 < abs(plan[0] - 65) <= LEAP
    assert plan not in [pitches[i : i + len(plan)] for i in range(len(pitches))]  # not the same pitches
    assert any(played_shape[i : i + len(shape)] == shape for i in range(len(played_shape)))


class ScriptedEngine:
    """An engine whose free draws are scripted and whose restricted draws take the likeliest
    allowed token: enough of the engine for the soloist to plan with."""

    def __init__(self, draws: list[str]):
        self.vocab = Vocabulary({t: 1 for t in ("C,0.250", "C,0.500", "R,0.500", "S,0.250", "S,0.500")})
        self.probs = np.array([0.2, 0.3, 0.1, 0.3, 0.1], np.float32)  # S,0.250 likelier than S,0.500
        self.draws = [self.vocab.index[t] for t in draws]
        self.position = 0

    def distribution(self, among=None):
        return self.probs if among is None else self.probs * among

    def sample(self, among=None):
        return self.draws.pop(0) if among is None else int(np.argmax(self.probs * among))

    def feed(self, token_id, new_chord=False):
        self.position += self.vocab.parsed[token_id].ticks


def planning(draws: list[str], plan: list[tuple[int, str]]) -> Soloist:
    """A soloist in the middle of restating a figure played over C."""
    soloist = Soloist(ScriptedEngine(draws), seed=0, motifs=1.0)
    soloist.memory.plan = [(pitch, kind, 0) for pitch, kind in plan]
    return soloist


def test_a_figure_sets_the_notes_kind_and_the_model_keeps_its_rhythm():
    c7 = parse_chord("C7")
    soloist = planning(["C,0.500", "C,0.250"], [(62, "S"), (64, "C")])
    token = soloist.next_token(lambda tick: c7)  # the model drew a chord tone; the figure says D
    assert (token.text, soloist.planned.pitch) == ("S,0.500", 62)  # its eighth, not the likelier 16th
    token = soloist.next_token(lambda tick: c7)  # the model drew the figure's kind itself
    assert (token.text, soloist.planned.pitch) == ("C,0.250", 64)
    assert soloist.memory.plan == [] and soloist.memory.last_pitch == 64


def test_the_line_may_not_run_ahead_of_the_model_in_the_figures_kind():
    c7 = parse_chord("C7")
    soloist = planning(["C,0.500"], [(62, "S"), (64, "C")])
    soloist.memory.excess["S"] = BALANCE + 0.5  # more scale tones played than the model expected
    token = soloist.next_token(lambda tick: c7)
    assert token.text == "C,0.500" and soloist.memory.plan == []  # the model's draw, the plan ended
    assert c7.note_type(soloist.planned.pitch) == "C"
    soloist = planning(["S,0.250"], [(62, "S"), (64, "C")])
    soloist.memory.excess["S"] = BALANCE + 0.5
    soloist.next_token(lambda tick: c7)  # the model drew a scale tone itself: the figure goes on
    assert soloist.planned.pitch == 62 and soloist.memory.plan == [(64, "C", 0)]


def test_the_tally_counts_each_note_against_the_models_expectation():
    memory = MotifMemory(follow=1.0, seed=0)
    memory.count("C", {"C": 0.5, "S": 0.3, "A": 0.2})
    memory.count("S", {"C": 0.5, "S": 0.3, "A": 0.2})
    assert memory.excess == pytest.approx({"C": 0.0, "S": 0.4, "A": -0.4})
    memory.forget()
    assert not memory.excess


def test_as_the_harmony_moves_a_planned_note_keeps_its_role_over_the_chord_at_its_onset():
    """A planned pitch stays where the chord allows it in its role or in its scale; else it
    moves to the nearest pitch of its role, or with the roots' motion; where nothing fits, the
    plan ends and the model's draw plays."""
    db7, c7b9, fs7 = parse_chord("Db7"), parse_chord("C7b9"), parse_chord("F#7")
    memory = MotifMemory(follow=1.0, seed=0)
    memory.plan = [(64, "S", 0), (64, "C", 0), (62, "S", 0), (60, "C", 0), (67, "C", 0)]
    assert db7.note_type(64) == "A"  # E over Db7: an approach note, outside the scale
    assert memory.next_note(db7, (48, 84)) == (63, "S")  # the nearest scale tone
    assert memory.next_note(db7, (48, 84)) == (65, "C")  # the nearest chord tone
    assert c7b9.note_type(62) == "X"  # D against C7(b9): outside; the nearest scale tone instead
    pitch, kind = memory.next_note(c7b9, (48, 84))
    assert pitch in (61, 63) and kind == "S" == c7b9.note_type(pitch)
    assert memory.next_note(fs7, (48, 84)) == (61, "C")  # C over F#7: to C#, the fifth
    assert memory.next_note(fs7, (71, 72)) is None and memory.plan == []  # no chord tone in reach: ends


def test_motif_memory_makes_lines_come_back_to_their_figures():
    from jazzd.music.timeline import ChordTimeline
    from jazzd.solo.engine import Engine

    timeline = ChordTimeline.looped("| Dm7 | G7 | Cmaj7 | A7 |")
    lines = {}
    for follow in (0.0, 1.0):  # the shipped model: a random one has little of a line to restate
        soloist = Soloist(Engine(seed=3), seed=3, motifs=follow)
        lines[follow] = list(soloist.play(timeline.chord_at, 0, 32 * BAR_TICKS))
    repeats = {f: repeated_figures(notes)[1] / repeated_figures(notes)[0] for f, notes in lines.items()}
    assert repeats[0.0] < 0.05 and repeats[1.0] > 0.12  # 0.0 and 0.19 here; real solos: 0.18
    assert all(timeline.chord_at(n.onset).note_type(n.pitch) in "CSA" for n in lines[1.0])
    assert all(55 <= n.pitch <= 84 for n in lines[1.0])  # the register holds


def test_a_keyboard_change_in_the_middle_of_a_restated_figure_reaches_its_next_notes():
    """A figure of Cmaj7's (E G B C) is being restated when the keyboard moves to F#7, a tritone
    away: each of its next notes is judged against F#7 — kept where F#7 allows it (E, its
    seventh; B, in its scale), else moved to the nearest pitch of its role (G to F#, C to C#)."""
    fs7 = parse_chord("F#7")
    soloist = planning(["C,0.500"] * 4, [(64, "C"), (67, "C"), (71, "C"), (72, "C")])
    played = []
    for _ in range(4):
        soloist.next_token(lambda tick: fs7)
        played.append(soloist.planned.pitch)
    assert played == [64, 66, 71, 73]
    assert all(p % 12 in fs7.scale for p in played)


def test_live_the_motif_memory_follows_the_keyboards_changes_as_the_model_does():
    """Seeds 0-6, the keyboard changing between Cmaj7 and F#7 every two bars at 200 bpm: the
    share of jazzd's notes in the held chord's scale after each change, with the motif memory
    (the default) against without it (`jazzd.measure.harmony`)."""
    from jazzd.live.config import PlayOptions
    from jazzd.measure.harmony import share_in_scale

    default = PlayOptions(port="synth").motifs
    with_memory = [share_in_scale(seed, default) for seed in range(7)]
    without = [share_in_scale(seed, 0.0) for seed in range(7)]
    mean = {name: sum(v) / 7 for name, v in (("with", with_memory), ("without", without))}
    print(f"\nin the new chord's scale: with the memory {mean['with']:.3f}, without {mean['without']:.3f}")
    assert default > 0 and mean["with"] >= mean["without"]


def test_a_line_states_its_ideas_before_it_restates_them():
    memory = MotifMemory(follow=1.0, seed=0)
    c7 = parse_chord("C7")
    for i in range(DEVELOP - 1):
        memory.remember(60 + (i * 5) % 12, "C", c7.root)
    memory.begin(Token("C", 6), c7, (48, 84))
    assert memory.plan == []  # not yet
    memory.remember(60, "C", c7.root)
    memory.begin(Token("C", 6), c7, (48, 84))
    assert memory.plan
