"""Corpus readers on small built fixtures, and one-line errors for bad input."""

import json

import pytest
from builders import block_chords, write_midi

from jazzd.cli import main
from jazzd.music.corpus import read_corpus
from jazzd.music.midifile import MidiSelection, read_midi
from jazzd.music.wjazzd import read_wjazzd

MELODY = [(0, 1, 72), (1, 0.5, 74), (1.5, 0.5, 76), (3, 1, 79), (4, 2, 77), (6.5, 0.5, 76), (8, 1, 72)]
COMPING = block_chords([(0, 4, (48, 52, 55, 59)), (4, 4, (50, 53, 57, 60)), (8, 4, (43, 47, 50, 53))])


def test_midi_automatic_track_choice(tmp_path):
    path = write_midi(
        tmp_path / "tune.mid",
        {"Sax": MELODY, "Piano": COMPING, "Bass": [(0, 4, 36), (4, 4, 38)]},
        programs={"Bass": 32},
    )
    solo = read_midi(path)
    assert [n.pitch for n in solo.notes] == [72, 74, 76, 79, 77, 76, 72]
    assert [n.onset for n in solo.notes] == [0, 12, 18, 36, 48, 78, 96]
    assert [(t, c.symbol) for t, c in solo.changes] == [(0, "Cmaj7"), (48, "Dm7"), (96, "G7")]
    assert [n.bar for n in solo.notes] == [0, 0, 0, 0, 1, 1, 2]


def test_midi_tracks_by_index_name_and_program(tmp_path):
    path = write_midi(tmp_path / "t.mid", {"Lead": MELODY, "Keys": COMPING}, programs={"Keys": 4})
    for melody, chords in (("1", "2"), ("lead", "KEYS"), ("Lead", "program:4")):
        solo = read_midi(path, MidiSelection(melody=melody, chords=(chords,)))
        assert len(solo.notes) == 7 and solo.changes[0][1].symbol == "Cmaj7"


def test_midi_same_track_splits_melody_from_chords(tmp_path):
    path = write_midi(tmp_path / "piano.mid", {"Piano": MELODY + COMPING})
    solo = read_midi(path, MidiSelection(melody="Piano", chords=("Piano",)))
    assert [n.pitch for n in solo.notes] == [72, 74, 76, 79, 77, 76, 72]
    assert solo.changes[1][1].symbol == "Dm7"


def test_midi_beat_window(tmp_path):
    path = write_midi(tmp_path / "t.mid", {"Sax": MELODY, "Piano": COMPING})
    solo = read_midi(path, MidiSelection(start_beat=4, end_beat=8))
    assert [n.pitch for n in solo.notes] == [77, 76]


def test_midi_triplets_quantize_to_thirds(tmp_path):
    triplets = [(i / 3, 1 / 3, 60 + i) for i in range(6)]
    path = write_midi(tmp_path / "t.mid", {"Sax": triplets, "Piano": COMPING}, tpb=480)
    assert [n.onset for n in read_midi(path).notes] == [0, 4, 8, 12, 16, 20]


def wjazzd_folder(tmp_path, rows, beats, melody_header=None):
    melody_dir, beat_dir = tmp_path / "mcsv_melody", tmp_path / "mcsv_beat"
    melody_dir.mkdir()
    beat_dir.mkdir()
    header = (
        melody_header or "onset,duration,period,division,bar,beat,tatum,beat_duration,signature,pitch,chord"
    )
    (melody_dir / "Someone_Tune_FINAL.csv").write_text(
        header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    )
    (beat_dir / "Someone_Tune_FINAL_beattrack.csv").write_text(
        "onset,duration,period,division,bar,beat,signature,chord,form,chorus_id,bass\n"
        + "\n".join(
            f"{i * 0.5},0.5,4,1,{bar},{beat},'4/4',{chord},A1,1,40"
            for i, (bar, beat, chord) in enumerate(beats)
        )
        + "\n"
    )
    return melody_dir / "Someone_Tune_FINAL.csv"


BEATS = (
    [(0, b, "NC") for b in (1, 2, 3, 4)]
    + [(1, b, "C-7") for b in (1, 2)]
    + [(1, b, "F7") for b in (3, 4)]
    + [(2, b, "Bbj7") for b in (1, 2, 3, 4)]
)
ROWS = [
    # onset, duration(s), period, division, bar, beat, tatum, beat_duration(s), signature, pitch, chord
    (2.0, 0.25, 4, 2, 1, 1, 1, 0.5, "4/4", 67, "C-7"),
    (2.25, 0.25, 4, 2, 1, 1, 2, 0.5, "4/4", 65, "C-7"),
    (2.5, 0.5, 4, 3, 1, 2, 1, 0.5, "4/4", 63, "C-7"),
    (3.0, 0.16, 4, 3, 1, 3, 2, 0.5, "4/4", 62, "F7"),
    (4.0, 1.0, 4, 1, 2, 1, 1, 0.5, "4/4", 62, "Bbj7"),
]


def test_wjazzd_onsets_from_beat_positions_and_chords_from_the_beat_track(tmp_path):
    solo = read_wjazzd(wjazzd_folder(tmp_path, ROWS, BEATS))
    assert solo.name == "Someone_Tune"
    assert [(n.onset, n.duration) for n in solo.notes] == [(48, 6), (54, 6), (60, 12), (76, 4), (96, 24)]
    assert [(t, c.symbol) for t, c in solo.changes] == [(0, "C-7"), (72, "F7"), (96, "Bbj7")]
    assert solo.chord_at(60).symbol == "C-7" and solo.chord_at(80).symbol == "F7"


def test_folder_reads_every_solo_and_reports_skipped(tmp_path):
    good = wjazzd_folder(tmp_path, ROWS, BEATS)
    (good.parent / "Broken_FINAL.csv").write_text("onset,duration\n1,2\n")
    solos, skipped = read_corpus([str(tmp_path)])
    assert len(solos) == 1
    assert skipped[0]["path"].endswith("Broken_FINAL.csv")
    assert "missing column(s) bar" in skipped[0]["reason"]


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_inspect_json_keys(tmp_path, capsys):
    wjazzd_folder(tmp_path, ROWS, BEATS)
    code, out, _ = run(capsys, "corpus", "inspect", str(tmp_path), "--json")
    summary = json.loads(out)
    assert code == 0
    assert summary["solos"] == 1 and summary["notes"] == 5 and summary["skipped"] == []
    assert set(summary["types"]) == {"C", "S", "A", "X", "R"}
    assert summary["roundtrip"] == {"rhythm_exact": 1.0, "type_preserved": 1.0}
    assert summary["tokens"] == 7 and summary["vocab_size"] >= 4


def test_strict_makes_a_bad_file_fatal(tmp_path, capsys):
    good = wjazzd_folder(tmp_path, ROWS, BEATS)
    (good.parent / "Broken_FINAL.csv").write_text("onset,duration\n1,2\n")
    code, _, err = run(capsys, "corpus", "inspect", str(tmp_path), "--strict")
    assert code == 1 and err.count("\n") == 1 and "Broken_FINAL.csv" in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty.mid: not a readable MIDI file (empty file)"),
        (b"RIFF\x00\x00garbage that is not midi", "not a readable MIDI file"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x00\x60MTrk\x00\x00\x00\xff\x90", "not a readable MIDI file"),
    ],
)
def test_bad_midi_is_one_line(tmp_path, capsys, content, expected):
    path = tmp_path / "empty.mid"
    path.write_bytes(content)
    code, out, err = run(capsys, "corpus", "inspect", str(path))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err


def test_bad_csv_inputs_name_file_and_line(tmp_path, capsys):
    path = wjazzd_folder(tmp_path, [*ROWS[:2], (2.5, 0.5, 4, 3, 1, 2, 1, 0.5, "4/4", "sixty", "C-7")], BEATS)
    code, _, err = run(capsys, "corpus", "inspect", str(path))
    assert code == 1 and f"{path}, line 4:" in err and err.count("\n") == 1


def test_unknown_chord_names_file_and_line(tmp_path, capsys):
    path = wjazzd_folder(tmp_path, ROWS, [*BEATS[:5], (1, 2, "Q7"), *BEATS[6:]])
    code, _, err = run(capsys, "corpus", "inspect", str(path))
    assert code == 1 and "_beattrack.csv, line 7: unknown chord symbol 'Q7'" in err


def test_missing_column_is_named(tmp_path, capsys):
    header = "onset,duration,period,division,bar,beat,tatum,beat_duration,signature,chord"
    path = wjazzd_folder(tmp_path, [r[:9] + r[10:] for r in ROWS], BEATS, melody_header=header)
    code, _, err = run(capsys, "corpus", "inspect", str(path))
    assert code == 1 and "missing column(s) pitch" in err


def test_impossible_window_is_one_line(tmp_path, capsys):
    path = write_midi(tmp_path / "t.mid", {"Sax": MELODY, "Piano": COMPING})
    for argv in (["--start-beat", "8", "--end-beat", "4"], ["--start-beat", "100"], ["--start-beat", "-2"]):
        code, _, err = run(capsys, "corpus", "inspect", str(path), *argv)
        assert code == 1 and "impossible beat window" in err and "t.mid" in err


def test_ambiguous_and_missing_tracks_list_candidates(tmp_path, capsys):
    path = write_midi(tmp_path / "t.mid", {"Piano L": MELODY, "Piano R": COMPING})
    code, _, err = run(capsys, "corpus", "inspect", str(path), "--melody-track", "piano")
    assert code == 1 and "matches several tracks" in err and "'Piano L'" in err and "'Piano R'" in err
    code, _, err = run(capsys, "corpus", "inspect", str(path), "--melody-track", "tuba")
    assert code == 1 and "matches no track" in err


def test_no_melody_candidate_says_which_options_to_pass(tmp_path, capsys):
    path = write_midi(tmp_path / "piano.mid", {"Piano": MELODY + COMPING})
    code, _, err = run(capsys, "corpus", "inspect", str(path))
    assert code == 1 and "pass --melody-track and --chord-track" in err


def test_bar_positions_from_the_beat_track_and_the_time_signature(tmp_path):
    solo = read_wjazzd(wjazzd_folder(tmp_path, ROWS, BEATS))
    assert solo.bar_starts == [0, 48, 96] and solo.bar_position(60) == 12 and solo.bar_position(96) == 0
    path = write_midi(tmp_path / "t.mid", {"Sax": MELODY, "Piano": COMPING})
    midi = read_midi(path)
    assert midi.bar_starts[:3] == [0, 48, 96] and midi.bar_position(100) == 4
