"""Progressions, offline rendering (deterministic, chord-aware) and the render command."""

import json
import subprocess
import sys
from itertools import pairwise

import mido
import pytest
from builders import write_tiny_model

from jazzd.cli import main
from jazzd.errors import ChordError
from jazzd.music.chords import parse_chord, parse_progression
from jazzd.music.grammar import BAR_TICKS
from jazzd.music.timeline import ChordTimeline
from jazzd.solo.engine import Engine
from jazzd.solo.feel import Feel
from jazzd.solo.soloist import Soloist


def test_progression_bars_repeat_and_notation():
    bars = parse_progression("| Dm7 G7 | Cmaj7 | % |")
    assert [[c.symbol for c in bar] for bar in bars] == [["Dm7", "G7"], ["Cmaj7"], ["Cmaj7"]]
    assert [c.symbol for c in parse_progression("| C-7 C-7 F7 F7 | Bbj7 |")[0]] == ["C-7", "C-7", "F7", "F7"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("| % | C |", "bar 1 cannot repeat"),
        ("| C | | D |", "bar 2 is empty"),
        ("| C | H7 |", "bar 2: unknown chord symbol 'H7'"),
        ("| NC | C |", "starts with NC"),
    ],
)
def test_bad_progressions_say_where(text, message):
    with pytest.raises(ChordError, match=message):
        parse_progression(text)


def read_notes(path, channel):
    mid = mido.MidiFile(str(path))
    sounding, notes = {}, []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0 and msg.channel == channel:
                assert msg.note not in sounding, "retriggered without a note-off"
                sounding[msg.note] = tick
            elif msg.type in ("note_off", "note_on") and getattr(msg, "channel", -1) == channel:
                notes.append((sounding.pop(msg.note), tick, msg.note))
    assert not sounding, "notes left hanging"
    return mid, sorted(notes)


def timed(track):
    tick = 0
    for msg in track:
        tick += msg.time
        yield tick, msg


def recording_feeds(engine: Engine) -> list[tuple[int, bool]]:
    """(where the next token starts, whether it is the first over a new chord) for each feed."""
    fed, feed = [], engine.feed

    def recording(token_id, position=None, new_chord=False):
        feed(token_id, position, new_chord)
        fed.append((engine.position, new_chord))

    engine.feed = recording
    return fed


def test_the_soloist_tells_the_engine_where_new_chords_begin(tmp_path):
    timeline = ChordTimeline.looped("| F7 | Bb7 Bdim7 | F7 D7 | G-7 C7 |")
    engine = Engine(write_tiny_model(tmp_path), seed=2)
    fed = recording_feeds(engine)
    list(Soloist(engine).play(timeline.chord_at, 0, 8 * BAR_TICKS))
    onsets = [0] + [position for position, _ in fed]
    expected = [timeline.chord_at(b) != timeline.chord_at(a) for a, b in pairwise(onsets)]
    assert [new for _, new in fed] == expected and sum(expected) >= 10


def test_a_chord_the_keyboard_player_changes_is_new_for_the_next_token(tmp_path):
    engine = Engine(write_tiny_model(tmp_path), seed=2)
    fed = recording_feeds(engine)
    soloist, held = Soloist(engine), [parse_chord("F7")]
    for change in (None, None, "Bb7", None, None):
        if change:
            held[0] = parse_chord(change)
        soloist.next_token(lambda tick: held[0])  # the held chord, whatever the time
    assert [new for _, new in fed] == [True, False, True, False, False]


def test_render_writes_solo_and_chords_at_tempo_and_is_byte_identical(tmp_path, capsys):
    model = write_tiny_model(tmp_path)
    argv = [
        "render",
        "--model",
        str(model),
        "--chords",
        "| Dm7 G7 | Cmaj7 |",
        "--bars",
        "8",
        "--bpm",
        "150",
        "--seed",
        "7",
        "-o",
    ]
    assert main([*argv, str(tmp_path / "a.mid")]) == 0
    assert main([*argv, str(tmp_path / "b.mid")]) == 0
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    assert main([*argv[:-2], "8", "-o", str(tmp_path / "c.mid")]) == 0
    assert (tmp_path / "c.mid").read_bytes() != (tmp_path / "a.mid").read_bytes()
    longer = [*argv[:6], "48", *argv[7:]]  # past the notes a line plays before it restates figures
    assert main([*longer, str(tmp_path / "d.mid"), "--motifs", "0"]) == 0  # no motif memory ...
    assert main([*longer, str(tmp_path / "e.mid")]) == 0
    assert (tmp_path / "d.mid").read_bytes() != (tmp_path / "e.mid").read_bytes()  # ... another line
    mid, solo = read_notes(tmp_path / "a.mid", 0)
    _, chords = read_notes(tmp_path / "a.mid", 1)
    tempo = next(m.tempo for m in mid.tracks[0] if m.type == "set_tempo")
    assert round(mido.tempo2bpm(tempo)) == 150
    assert solo and max(end for _, end, _ in solo) <= 8 * 4 * mid.ticks_per_beat
    assert {p for _, _, p in chords} >= {38, 43, 36}  # roots of Dm7, G7, Cmaj7
    assert all(55 <= pitch <= 84 for _, _, pitch in solo)  # the default register
    accents = {  # the live player's: beats 1 and 3, beats 2 and 4, between beats
        (tick / mid.ticks_per_beat, m.velocity)
        for tick, m in timed(mid.tracks[1])
        if m.type == "note_on" and m.velocity
    }
    assert {velocity for _, velocity in accents} <= {100, 90, 76}
    assert all(Feel().velocity(beat) == velocity for beat, velocity in accents)


def test_render_without_tensorflow(tmp_path):
    """The playing side must run where TensorFlow is not installed: block its import."""
    model = write_tiny_model(tmp_path)
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx"):
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import jazzd.cli, jazzd.solo.engine, jazzd.solo.soloist, jazzd.solo.render, jazzd.solo.modelfile
import jazzd.learn.evaluate, jazzd.learn.baselines
code = jazzd.cli.main(["render", "--model", {str(model)!r}, "--bars", "4", "-o", {str(tmp_path / "x.mid")!r}])
assert not [m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf2onnx")]
print("exit", code)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "exit 0", done.stderr
    assert (tmp_path / "x.mid").stat().st_size > 100


def test_training_without_tensorflow_says_how_to_install(tmp_path):
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx"):
            raise ImportError("blocked", name=name)
sys.meta_path.insert(0, Block())
import jazzd.cli
sys.exit(jazzd.cli.main(["train", "--preset", "seed", "--work-dir", sys.argv[1]]))
"""
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "jazzd: error: training needs the train extra (keras is missing): "
        'pip install "jazzd[train]"  (TensorFlow/Keras, tf2onnx, onnx)'
    ]


@pytest.mark.parametrize("damage", ["missing sidecar", "wrong hash", "wrong vocabulary size", "not onnx"])
def test_bad_model_files_are_one_line(tmp_path, capsys, damage):
    model = write_tiny_model(tmp_path)
    sidecar_path = model.with_suffix(".json")
    sidecar = json.loads(sidecar_path.read_text())
    if damage == "missing sidecar":
        sidecar_path.unlink()
    elif damage == "wrong hash":
        model.write_bytes(model.read_bytes() + b"\0")
    elif damage == "wrong vocabulary size":
        sidecar["vocab"]["tokens"].pop()
        sidecar["vocab"]["counts"].pop()
        sidecar_path.write_text(json.dumps(sidecar))
    else:
        model.write_bytes(b"garbage")
        sidecar_path.write_text(
            json.dumps({**sidecar, "onnx_sha256": __import__("hashlib").sha256(b"garbage").hexdigest()})
        )
    code = main(["render", "--model", str(model), "--bars", "2", "-o", str(tmp_path / "o.mid")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and str(model.stem) in err and "Traceback" not in err
    assert not (tmp_path / "o.mid").exists()
