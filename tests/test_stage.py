"""The stage: the setlist read from the config, requests from the keyboard (Program Change,
next/previous, pads, tap tempo), and the bar lines where they take effect."""

import re

import mido
import pytest

from jazzd.live.config import ConfigError, build_options, tune_options
from jazzd.live.listen import ChordTracker, Controls, Keyboard
from jazzd.live.stage import Request, Stage, TapTempo
from jazzd.music.timeline import ChordTimeline


def config(tmp_path, text: str) -> str:
    path = tmp_path / "j.toml"
    path.write_text('[midi]\nport = "synth"\n' + text)
    return str(path)


def test_the_setlist_opens_with_its_first_tune_and_each_entry_plays_as_written(tmp_path):
    tunes = '["blues-f", { tune = "rhythm-changes", bpm = 260, choruses = 2, mode = "trade" }]'
    options = build_options(config(tmp_path, f"[setlist]\ntunes = {tunes}\n"), {})
    first, second = options.setlist
    assert options.chart is first.chart and options.bpm == first.chart.bpm == 140
    playing = tune_options(options, second)
    assert (playing.chart.title, playing.bpm, playing.choruses, playing.mode) == (
        "Rhythm changes in Bb",
        260,
        2,
        "trade",
    )
    fixed = build_options(config(tmp_path, f"[clock]\nbpm = 99\n[setlist]\ntunes = {tunes}\n"), {})
    assert tune_options(fixed, fixed.setlist[0]).bpm == 99  # a tempo set wins over the tune's
    assert tune_options(fixed, fixed.setlist[1]).bpm == 260  # ... and the entry's over both


@pytest.mark.parametrize(
    ("tunes", "message"),
    [
        ('["blues-f", "no-such-tune"]', "[setlist] entry 2: no tune named 'no-such-tune'"),
        ('[{ tune = "blues-f", tempo = 3 }]', "[setlist] entry 1: unknown key 'tempo'"),
        ('[{ tune = "blues-f", bpm = 1000 }]', "[setlist] entry 1: bpm must be 20-400 beats per minute"),
        ('[{ tune = "blues-f", mode = "duet" }]', "[setlist] entry 1: mode must be"),
        ("[{ bpm = 100 }]", "[setlist] entry 1: give a tune's name"),
        ("[3]", "[setlist] entry 1: give a tune's name"),
        ('"blues-f"', "key 'setlist.tunes' must be a list of tunes"),
    ],
)
def test_a_bad_setlist_entry_is_one_line_naming_it(tmp_path, tunes, message):
    path = config(tmp_path, f"[setlist]\ntunes = {tunes}\n")
    with pytest.raises(ConfigError) as caught:
        build_options(path, {})
    assert message in str(caught.value) and str(caught.value).startswith(path)
    assert len(str(caught.value).splitlines()) == 1 and caught.value.exit_code == 78


@pytest.mark.parametrize("value", ['"note 200"', '"pad 3"', "128", "true"])
def test_a_bad_control_is_named(tmp_path, value):
    expected = "key 'controls.tap' must be a CC number 0-127, \"note N\""
    with pytest.raises(ConfigError, match=re.escape(expected)):
        build_options(config(tmp_path, f"[controls]\ntap = {value}\n"), {})


def test_taps_give_the_tempo_of_the_last_four_and_a_pause_starts_again():
    taps = TapTempo()
    assert taps.tap(10.0) is None
    assert [round(taps.tap(10.0 + 0.5 * i), 3) for i in (1, 2, 3)] == [120.0, 120.0, 120.0]
    assert taps.tap(11.9) == pytest.approx(60 * 3 / 1.4)  # the last four: 10.5 .. 11.9
    assert taps.tap(20.0) is None  # three seconds later: a new tapping
    assert taps.tap(20.05) == 400.0  # bounded


def keyboard(controls: Controls, acted: list) -> Keyboard:
    tracker = ChordTracker(ChordTimeline.looped("| C7 |"))
    names = ("temperature", "density", "register", "start_stop", "panic", "call", "next", "previous", "tap")
    actions = {name: (lambda value, name=name: acted.append((name, value))) for name in names}
    return Keyboard(tracker, 60, controls, actions, lambda: 0.0)


def test_program_changes_pads_and_ccs_reach_their_actions_and_a_pad_is_no_chord_key():
    acted: list = []
    keys = keyboard(Controls(next=80, previous="note 36", tap="note 37"), acted)
    keys.handle(mido.Message("program_change", program=4))
    keys.handle(mido.Message("control_change", control=80, value=127))
    keys.handle(mido.Message("note_on", note=36, velocity=100, channel=9))
    keys.handle(mido.Message("note_off", note=36, channel=9))
    keys.handle(mido.Message("note_on", note=37, velocity=90), t=5.0)
    assert acted == [("call", 4), ("next", 127), ("previous", 127), ("tap", 127)]
    assert keys.arrival == 5.0 and keys.chords.held == set() and keys.chords.current is None
    assert keys.knobs == {}  # acts, not settings: a reload replays none of them


def test_a_call_past_the_setlist_is_refused_with_a_line(caplog):
    stage = Stage()
    stage.setlist = [object(), object()]
    stage.current = 1
    assert stage.entry_called(Request("step", -1, "keyboard")) == 0
    assert stage.entry_called(Request("step", 1, "keyboard")) is None
    assert stage.entry_called(Request("call", 5, "page")) is None
    assert "tune 6 from the page: the setlist has 2 tunes" in caplog.text


def test_bar_lines_follow_a_chart_s_short_bars_and_its_loop():
    timeline = ChordTimeline.looped("| C7 | 2/4 F7 | G7 |")  # bars of 48, 24, 48 ticks
    assert [timeline.next_bar_line(t) for t in (0, 1, 49, 72, 100, 121)] == [0, 48, 72, 72, 120, 168]
    assert [timeline.bar_index(t) for t in (0, 50, 80, 130)] == [0, 1, 2, 0]
    assert ChordTimeline.looped("| C7 | F7 |").next_bar_line(-30) == 0  # a count-in: 4/4
