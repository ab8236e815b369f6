"""iReal Pro links, built here: decoding, repeats and endings, sections, playlists, and one line
for each tune that cannot be read while the rest of the playlist loads."""

from urllib.parse import quote

import pytest

from jazzd.cli import main
from jazzd.music.charts import chart_from_toml, chart_to_toml
from jazzd.music.grammar import BAR_TICKS, TICKS_PER_BEAT
from jazzd.music.ireal import MUSIC_PREFIX, charts_from_text, unscramble
from jazzd.music.library import find_chart, load_charts


def scramble(music: str) -> str:
    """The app's scrambling: the same swaps as unscrambling (each block's swaps undo themselves)."""
    return unscramble(music)


def tune(title: str, music: str, key: str = "C", bpm: int = 0) -> str:
    """One irealb:// record: Title=Composer==Style=Key==MUSIC=Comp style=BPM=Repeats."""
    scrambled = MUSIC_PREFIX + scramble(music)
    return f"{title}=Composer Some==Medium Swing={key}=={scrambled}=Jazz-Medium Swing={bpm}=3"


def link(*tunes: str, playlist: str | None = None) -> str:
    body = "===".join(tunes) + (f"==={playlist}" if playlist else "")
    return "irealb://" + quote(body, safe="")


def bars(chart) -> list[str]:
    return [" ".join(c.symbol for c in bar) for bar in chart.chorus()]


AABA = "{*AT44C^7 |A-7 |N1D-7 G7 }|N2D-7 G7 |C^7 ][*BF^7 |x |Bh7 |E7b9 Z"


def test_scrambling_is_undone_block_by_block():
    music = "".join(chr(65 + i % 26) for i in range(173))
    assert unscramble(scramble(music)) == music
    assert scramble(music) != music and scramble(music)[150:] == music[150:]  # the tail is plain


def test_a_tune_with_repeats_endings_and_sections():
    (chart,), problems = charts_from_text(link(tune("Test AABA", AABA, key="C", bpm=180)), "link")
    assert not problems
    assert chart.title == "Test AABA" and chart.key == "C" and chart.bpm == 180
    assert bars(chart) == [
        "Cmaj7", "A-7", "D-7 G7",  # first time, first ending
        "Cmaj7", "A-7", "D-7 G7", "Cmaj7",  # the repeat, second ending
        "Fmaj7", "Fmaj7", "Bm7b5", "E7b9",  # the bridge: x repeats a bar, h is half-diminished
    ]  # fmt: skip
    assert chart.form == ("A", "A2", "B")  # the second pass differs: a section of its own
    assert chart.form_of(1).section_starts == (0, 3, 7)


def test_plain_and_old_links_and_no_chord_and_two_bar_repeats():
    old = "irealbook://" + quote(
        "Old One=Someone=Bossa Nova=F=n=T44*A[F^7 |G-7 C7 |r| ]*B[n |Bb^7 Z", safe=""
    )
    (chart,), problems = charts_from_text(old, "old")
    assert not problems and chart.key == "F"
    assert bars(chart) == ["Fmaj7", "G-7 C7", "Fmaj7", "G-7 C7", "C7", "Bbmaj7"]  # n: the chord goes on


def test_a_playlist_loads_the_tunes_it_can_and_reports_each_other_one(tmp_path, caplog):
    playlist = link(
        tune("Good One", "[T44C |F |G7 |C Z"),
        tune("Waltz", "[T34C |F |G7 |C Z"),
        tune("Odd Chords", "[T44C7xyz |Fq |G7 Z"),
        tune("Good Two", "[T44D-7 |G7 |C^7 Z"),
        playlist="Jam night",
    )
    charts, problems = charts_from_text(f'<html><a href="{playlist}">Jam night</a></html>', "jam.html")
    assert [c.title for c in charts] == ["Good One", "Good Two"]
    assert problems == [
        "jam.html, chart 'Waltz', bar 1: time 3/4: jazzd plays 4/4 (with brief bars of 1-7 quarter notes)",
        "jam.html, chart 'Odd Chords': chord symbols jazzd cannot read: C7xyz (bar 1), Fq (bar 2)",
    ]
    page = tmp_path / "jam.html"
    page.write_text(f'<a href="{playlist}">Jam night</a>')
    folder = tmp_path / "charts"
    caplog.set_level("INFO")
    assert main(["tunes", "import", str(page), "--to", str(folder)]) == 2  # not all of it
    assert "chart 'Waltz'" in caplog.text and "imported 2 of 4 tunes" in caplog.text
    assert sorted(p.name for p in folder.iterdir()) == ["good-one.toml", "good-two.toml"]
    assert bars(find_chart("good-two", folder)) == ["D-7", "G7", "Cmaj7"]
    assert main(["tunes", "import", link(tune("Good One", "[T44C |F |G7 |C Z")), "--to", str(folder)]) == 0


def test_a_charts_folder_reads_ireal_exports_beside_toml_charts(tmp_path):
    (tmp_path / "exported.html").write_text(f"<a href='{link(tune('Test AABA', AABA))}'>x</a>")
    (tmp_path / "empty.txt").write_text("nothing here")
    charts, problems = load_charts(tmp_path)
    assert list(charts) == ["test-aaba"]
    assert problems == [f"{tmp_path / 'empty.txt'}: no irealb:// or irealbook:// link found"]


@pytest.mark.parametrize(
    ("music", "message"),
    [
        ("   ", "no bars with chords"),
    ],
)
def test_malformed_tunes_say_which_and_what(music, message):
    charts, problems = charts_from_text(link(tune("Broken", music)), "link")
    assert not charts and problems == [f"link, chart 'Broken': {message}"]


def test_a_title_with_an_apostrophe_does_not_end_the_link():
    """iReal Pro leaves apostrophes unescaped: every tune after such a title was dropped."""
    playlist = link(tune("'S Wonderful", "[T44C |G7 Z"), tune("Ain't Misbehavin'", "[T44F |C7 Z"))
    for text in (playlist, f'<a href="{playlist}">x</a>', f"before {playlist}\nafter"):
        charts, problems = charts_from_text(text, "p")
        assert [c.title for c in charts] == ["'S Wonderful", "Ain't Misbehavin'"] and not problems


@pytest.mark.parametrize(
    ("music", "played"),
    [
        # a third ending: pass n takes ending n
        ("{C |N1D- }|N2E- }|N3F Z", "C D- C E- C F"),
        # a repeat sign closing the last ending is not another repeat
        ("{C |N1D- }|N2E- }", "C D- C E-"),
        # an unlabelled second ending: the bar after the first ending's repeat sign
        ("{C |N1D- }E- Z", "C D- C E-"),
        # N0 endings count on ("for repeats", "to end")
        ("{C |N0D- }|N0E- Z", "C D- C E-"),
        # a repeat with no opening sign goes back to the top; x repeats a bar, r two
        ("C |x |D- |G7 |r| }", "C C D- G7 D- G7 C C D- G7 D- G7"),
    ],
)
def test_repeats_and_endings_play_as_the_app_plays_them(music, played):
    (chart,), problems = charts_from_text(
        link(tune("Form", "[T44" + music if music[0] != "{" else "{T44" + music[1:])), "l"
    )
    assert not problems and " ".join(bars(chart)) == played


def test_da_capo_dal_segno_coda_fine_and_an_intro():
    """The app's rules: D.C. al Fine plays the top again to the Fine; D.S. al Coda returns to
    the segno and leaves at the "to coda" sign — with the coda part of every chorus; a coda
    without a D.S. is an outro taken once, from the last chorus's "to coda"; an intro (`*i`) is
    played once before the first chorus."""
    dc, _ = charts_from_text(link(tune("DC", "*A[T44C |G7<Fine> ]*B[F |D7 <D.C. al Fine>Z")), "l")
    assert " ".join(bars(dc[0])) == "C G7 F D7 C G7"
    ds, _ = charts_from_text(link(tune("DS", "[T44C |SF |G7Q |A- <D.S. al Coda>]Y[QD- |C Z")), "l")
    assert " ".join(bars(ds[0])) == "C F G7 A- F G7 D- C" and not ds[0].coda
    outro, _ = charts_from_text(link(tune("Outro", "*i[T44A- |D7 ]*A[C |G7Q |F |G7 ]Y[QD- |C Z")), "l")
    chart = outro[0]
    assert [b for bar in chart.intro for b in (c.symbol for c in bar)] == ["A-", "D7"]
    assert " ".join(bars(chart)) == "C G7 F G7"  # the chorus, coda and intro apart
    symbols = [" ".join(c.symbol for c in bar) for bar in chart.bars(2)]
    assert symbols == ["A-", "D7", "C", "G7", "F", "G7", "C", "G7", "D-", "C"]
    form = chart.form_of(2)
    assert form.intro == 2 and form.end_beat == 40.0 and form.landing == 9 * BAR_TICKS


def test_cells_bass_and_qualities_are_kept():
    """A chord lasts one beat and the empty cells after it (2+1+1 here, not 4/3 each); W/bass
    goes on over the new bass; -b6, o^7, 5 and 11 are read as written."""
    (chart,), problems = charts_from_text(
        link(tune("Cells", "[T44C   sD-,G7,|lEb- W/D W/Db |A-b6 |Bo^7 |E5 |G11 Z")), "l"
    )
    assert not problems
    assert bars(chart)[:2] == ["C C D- G7", "Eb- Eb-/D Eb-/Db Eb-/Db"]
    tones = [sorted((t - c.root) % 12 for t in c.tones) for c in (b[0] for b in chart.chorus()[2:])]
    assert tones == [[0, 3, 7], [0, 3, 6, 11], [0, 7], [0, 5, 7, 10]]
    assert 8 in {(p - 9) % 12 for p in chart.chorus()[2][0].scale}  # A-b6: F in the scale


def test_a_brief_bar_of_another_length_plays_at_its_length():
    """Monk's I Mean You has a 2/4 bar in a 4/4 tune: it lasts two beats, the chords and the
    model's bar position follow it; a tune in another metre throughout is refused by name."""
    (chart,), problems = charts_from_text(link(tune("Brief", "[T44C |T24G7 |T44F |C Z")), "l")
    assert not problems
    timeline = chart.timeline(1)
    assert [timeline.chord_at(beat * TICKS_PER_BEAT).symbol for beat in (0, 4, 6, 9)] == ["C", "G7", "F", "F"]
    assert (
        timeline.bar_position(6 * TICKS_PER_BEAT) == 0
        and timeline.bar_position(7 * TICKS_PER_BEAT) == TICKS_PER_BEAT
    )
    assert chart.form_of(1).end_beat == 14.0
    assert "2/4 G7" in chart_to_toml(chart)
    assert bars(chart_from_toml(chart_to_toml(chart), "t")) == bars(chart)
    _, problems = charts_from_text(link(tune("Jig", "[T12C |G7 Z")), "l")
    assert problems == [
        "l, chart 'Jig', bar 1: time 12/8: jazzd plays 4/4 (with brief bars of 1-7 quarter notes)"
    ]


@pytest.mark.parametrize(
    "music",
    [
        "x |C |G7 Z",
        "C |G7 |T4",
        "r|C Z",
        "{N2C }",
        "C ||| ] ] Z Z",
        "W/C |C Z",
        "<D.S. al Coda>C |Q Z",
        "C <D.C. al Fine>Z",
    ],
)
def test_odd_charts_never_raise(music):
    charts, problems = charts_from_text(link(tune("Odd", music)), "l")
    assert len(charts) + len(problems) == 1
