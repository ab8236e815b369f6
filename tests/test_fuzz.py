"""Property tests for every parser of outside data: whatever comes in, the only failure is the
project's own one-line error (never another exception)."""

import json
import random

from builders import block_chords, write_midi, write_tiny_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jazzd.errors import ChordError, CorpusError, JazzdError
from jazzd.live.config import ConfigError, read_config
from jazzd.music.chords import parse_progression
from jazzd.music.midifile import read_midi
from jazzd.music.wjazzd import read_wjazzd
from jazzd.solo.modelfile import load_model_files

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.binary(max_size=400), st.integers(0, 10**6))
def test_midi_bytes(tmp_path, data, seed):
    path = tmp_path / "f.mid"
    valid = write_midi(
        tmp_path / "v.mid",
        {"Sax": [(0, 1, 60), (1, 1, 62), (2, 1, 64)], "Piano": block_chords([(0, 4, (48, 52, 55))])},
    ).read_bytes()
    rng = random.Random(seed)
    mutated = bytearray(valid)
    for _ in range(rng.randint(1, 8)):  # flip, cut or splice a valid file, or take raw bytes
        op = rng.random()
        if op < 0.5 and mutated:
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        elif op < 0.8:
            mutated = mutated[: rng.randrange(len(mutated) + 1)]
        else:
            mutated[rng.randrange(len(mutated) + 1) : 0] = data[:20]
    path.write_bytes(bytes(mutated) if seed % 4 else data)
    try:
        read_midi(path)
    except CorpusError as exc:
        assert str(path) in str(exc)


CSV_HEADER = "onset,duration,period,division,bar,beat,tatum,beat_duration,signature,pitch,chord"
cells = st.one_of(
    st.integers(-5, 200).map(str),
    st.floats(allow_nan=True).map(str),
    st.text(max_size=6),
    st.sampled_from(["C-7", "NC", "F79b", "", "Xyz", "1e400"]),
)


@FUZZ
@given(st.lists(st.lists(cells, min_size=0, max_size=12), max_size=8), st.booleans())
def test_wjazzd_csv(tmp_path, rows, with_header):
    path = tmp_path / "Solo_FINAL.csv"
    lines = ([CSV_HEADER] if with_header else []) + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    try:
        solo = read_wjazzd(path)
        assert all(0 <= n.pitch <= 127 and n.duration > 0 for n in solo.notes)
    except CorpusError as exc:
        assert str(path) in str(exc)


@FUZZ
@given(st.text(alphabet="|% ABCDEFGb#-+jo79m5()/NCsu", max_size=40))
def test_progressions(text):
    try:
        bars = parse_progression(text)
    except ChordError:
        return
    # what was read, written back as symbols, reads the same (% and NC resolved to their chords)
    again = parse_progression(" | ".join(" ".join(chord.symbol for chord in bar) for bar in bars))
    assert again == bars and len(bars) == text.strip().strip("|").count("|") + 1


toml_values = st.one_of(
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=8),
    st.lists(st.integers(-5, 200), max_size=3),
)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["midi", "clock", "solo", "keyboard", "controls", "other"]),
        st.dictionaries(
            st.sampled_from(
                ["port", "bpm", "channel", "register", "mode", "swing", "panic", "x", "seed", "chords"]
            ),
            toml_values,
            max_size=4,
        ),
        max_size=4,
    ),
    st.binary(max_size=30),
)
def test_config_files(tmp_path, tables, junk):
    path = tmp_path / "j.toml"
    lines = []
    for table, keys in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    path.write_bytes("\n".join(lines).encode() + (junk if junk and junk[0] % 3 == 0 else b""))
    try:
        read_config(path)
    except ConfigError as exc:
        assert all(line.startswith(f"{path}: ") for line in str(exc).splitlines())


@FUZZ
@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=8,
    ),
    st.sampled_from(["format", "n_a", "vocab", "grid", "onnx_sha256", "window_half_width", None]),
)
def test_model_sidecars(tmp_path, value, key):
    path = tmp_path / "m.onnx"
    write_tiny_model(tmp_path, "m")
    sidecar = json.loads(path.with_suffix(".json").read_text())
    if key is None:
        path.with_suffix(".json").write_text(json.dumps(value))
    else:
        sidecar[key] = value
        path.with_suffix(".json").write_text(json.dumps(sidecar))
    try:
        load_model_files(path)
    except JazzdError as exc:
        assert "m.json" in str(exc) or "m.onnx" in str(exc)
