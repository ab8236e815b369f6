"""iReal Pro links, built here: decoding, repeats and endings, sections, playlists, and one line
for each tune that cannot be read while the rest of the playlist loads."""

from urllib.parse import quote

import pytest

from jazzd.cli import main
from jazzd.music.charts import find_chart, load_charts
from jazzd.music.ireal import MUSIC_PREFIX, charts_from_text, unscramble


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
        "jam.html, chart 'Waltz': time 3/4: jazzd plays 4/4 only",
        "jam.html, chart 'Odd Chords': chord symbols jazzd cannot read: C7xyz, Fq",
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
        ("{*AC |D- |N1G7 }", "a first ending without a second"),
        ("   ", "no bars with chords"),
    ],
)
def test_malformed_tunes_say_which_and_what(music, message):
    charts, problems = charts_from_text(link(tune("Broken", music)), "link")
    assert not charts and problems == [f"link, chart 'Broken': {message}"]
