"""The real files in ../shared/data: WJazzD, the seed slice of Metheny, the Oscar Peterson files."""

from jazzd.cli import main
from jazzd.music.corpus import read_corpus, summarize
from jazzd.music.midifile import SEED_PRESET, MidiSelection, read_midi


def test_every_wjazzd_solo_reads_and_round_trips(shared_data):
    solos, skipped = read_corpus([str(shared_data / "wjazzd-mcsv")])
    summary = summarize(solos, skipped)
    assert summary["solos"] == 409 and summary["skipped"] == []
    assert summary["roundtrip"]["rhythm_exact"] >= 0.99
    assert summary["roundtrip"]["type_preserved"] >= 0.99
    assert summary["dropped_in_quantization"] / summary["notes"] < 0.02
    assert 0.35 < summary["types"]["C"] / summary["tokens"] < 0.5


def test_seed_slice_of_metheny(shared_data):
    solo = read_midi(shared_data / "original_metheny.mid", SEED_PRESET)
    assert 185 <= len(solo.notes) <= 195
    summary = summarize([solo], [])
    assert summary["roundtrip"] == {"rhythm_exact": 1.0, "type_preserved": 1.0}
    assert all(476 * 12 <= n.onset < 548 * 12 for n in solo.notes)


def test_oscar_peterson_1_reads_with_automatic_tracks(shared_data):
    solo = read_midi(shared_data / "jazzml_Oscar-Peterson-1.mid")  # right hand over left hand
    assert len(solo.notes) > 250 and summarize([solo], [])["roundtrip"]["rhythm_exact"] == 1.0


def test_oscar_peterson_2_says_which_options_to_pass_and_then_reads(shared_data, capsys):
    path = shared_data / "jazzml_Oscar-Peterson-2.mid"
    code = main(["corpus", "inspect", str(path)])
    err = capsys.readouterr().err
    assert code == 1 and "pass --melody-track and --chord-track" in err and err.count("\n") == 1
    solo = read_midi(path, MidiSelection(melody="1", chords=("1", "ACOU BASS")))
    assert len(solo.notes) > 1000 and summarize([solo], [])["roundtrip"]["rhythm_exact"] == 1.0


def test_deepjazz_outputs_read_by_splitting_their_one_track(shared_data):
    solos, skipped = read_corpus(
        [str(shared_data / "deepjazz_on_metheny_*.midi")], MidiSelection(melody="0", chords=("0",))
    )
    assert len(solos) == 6 and skipped == []
