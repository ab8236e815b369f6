"""Tunes: jazzd's TOML charts, the built-in ones, the form they unroll to over choruses (checked
bar by bar, in a rendered file too), and one line for every malformed chart."""

import json

import mido
import pytest
from builders import write_tiny_model

from jazzd.cli import main
from jazzd.live.config import EX_CONFIG, ConfigError, build_options
from jazzd.music.charts import ChartError, Form, chart_from_toml, chart_to_toml
from jazzd.music.chords import parse_progression
from jazzd.music.grammar import BAR_TICKS
from jazzd.music.library import available_charts, builtin_dir, find_chart, load_charts

BUILT_IN = sorted(available_charts()[0].items())


def symbols(bars):
    return [" ".join(chord.symbol for chord in bar) for bar in bars]


def chord_per_bar(timeline, bars: int) -> list[str]:
    """The chords in force in each bar, read back from the timeline (each bar's halves and quarters)."""
    out = []
    for bar in range(bars):
        seen = [timeline.chord_at(bar * BAR_TICKS + q * BAR_TICKS // 4).symbol for q in range(4)]
        out.append(" ".join(dict.fromkeys(seen)))
    return out


def test_the_built_in_library_reads_and_holds_the_jam_session_forms():
    names = [name for name, _ in BUILT_IN]
    assert {"blues-f", "blues-bb", "minor-blues", "rhythm-changes", "ii-v-i"} <= set(names)
    assert len(names) >= 9 and not available_charts()[1]
    forms = {name: (len(chart.chorus()), "".join(chart.form)) for name, chart in BUILT_IN}
    assert forms["blues-f"] == (12, "A") and forms["rhythm-changes"] == (32, "AABA")
    assert forms["autumn-leaves"] == (32, "AABC") and forms["another-you"] == (32, "ABAC")
    assert forms["ii-v-i"][0] == 48
    roots = {bar[0].root for bar in find_chart("ii-v-i").chorus()[::4]}
    assert len(roots) == 12  # a ii-V-I in every key


def test_rhythm_changes_takes_its_first_ending_then_its_second():
    chorus = symbols(find_chart("rhythm-changes").chorus())
    assert chorus[6:8] == ["Dm7 G7", "Cm7 F7"]  # first A: the turnaround
    assert chorus[14:16] == ["Cm7 F7", "Bb6"]  # second A: lands on Bb before the bridge
    assert chorus[16] == "D7" and chorus[30:32] == ["Cm7 F7", "Bb6"]  # bridge; the last A: second ending


@pytest.mark.parametrize(("name", "chart"), BUILT_IN, ids=[name for name, _ in BUILT_IN])
@pytest.mark.parametrize("choruses", [1, 3])
def test_every_built_in_tune_unrolls_bar_by_bar_on_its_form(name, chart, choruses):
    expected = []
    for _ in range(choruses):
        seen: dict[str, int] = {}
        for section in chart.form:  # the form read here from the chart's own parts
            seen[section] = seen.get(section, 0) + 1
            endings = chart.endings.get(section, [])
            expected += symbols(chart.sections[section])
            if endings:
                expected += symbols(endings[min(seen[section], len(endings)) - 1])
    if chart.ending:
        expected[len(expected) - len(chart.ending) :] = symbols(chart.ending)
    assert chord_per_bar(chart.timeline(choruses), len(expected)) == expected
    assert chart.timeline(choruses).chord_at(10**6 * BAR_TICKS).symbol == expected[-1].split()[-1]


@pytest.mark.parametrize(("name", "chart"), BUILT_IN, ids=[name for name, _ in BUILT_IN])
def test_render_tune_writes_the_form_with_its_chords_track(tmp_path, name, chart):
    out = tmp_path / f"{name}.mid"
    model = write_tiny_model(tmp_path)
    assert main(["render", "--tune", name, "--choruses", "2", "--model", str(model), "-o", str(out)]) == 0
    mid = mido.MidiFile(str(out))
    bars = chart.bars(2)
    tick_bar = 4 * mid.ticks_per_beat
    roots: dict[int, list[int]] = {}
    t = 0
    for msg in mid.tracks[2]:  # the chords: the root is each voicing's lowest note
        t += msg.time
        if msg.type == "note_on" and msg.velocity:
            roots.setdefault(t, []).append(msg.note)
    written = [(start // tick_bar, min(notes) % 12) for start, notes in sorted(roots.items())]
    chart_roots = [(b, c.root) for b, bar in enumerate(bars) for c in bar]
    assert written == chart_roots
    assert round(mido.tempo2bpm(next(m.tempo for m in mid.tracks[0] if m.type == "set_tempo"))) == chart.bpm
    t, last_on = 0, None
    for msg in mid.tracks[1]:
        t += msg.time
        if msg.type == "note_on" and msg.velocity:
            last_on = (t, msg.note)
    landing_bar = (len(bars) - 1) * tick_bar
    assert last_on[0] >= landing_bar and last_on[1] % 12 in bars[-1][-1].tones  # lands on the final chord


def test_chart_toml_with_form_endings_and_a_final_cadence():
    chart = chart_from_toml(
        """
        title = "Test tune"
        tempo = 180
        form = ["A", "A", "B", "A"]
        ending = "| C6 |"
        [sections]
        A = "| C | Am7 |"
        B = "| F | G7 |"
        [endings]
        A = ["| Dm7 G7 |", "| C |"]
        """,
        "t.toml",
    )
    chorus = ["C", "Am7", "Dm7 G7", "C", "Am7", "C", "F", "G7", "C", "Am7", "C"]
    assert symbols(chart.bars(2)) == [*chorus, *chorus[:-1], "C6"]
    form = chart.form_of(2)
    assert form == Form(11, (0, 3, 6, 8), 2, 21 * BAR_TICKS, end_beat=88.0)
    assert form.turns(2) == [0, 2, 3, 5, 6, 8, 10]  # turns begin again at each section
    again = chart_from_toml(chart_to_toml(chart), "again.toml")
    assert symbols(again.bars(3)) == symbols(chart.bars(3)) and again.bpm == 180


def test_multi_line_sections_and_a_two_chord_last_bar_lands_on_its_last_chord():
    chart = chart_from_toml('title = "x"\n[sections]\nA = """\n| C | F |\n| G7 | Dm7 G7 |\n"""\n', "x.toml")
    assert symbols(chart.chorus()) == ["C", "F", "G7", "Dm7 G7"]
    assert chart.form_of(1).landing == 3 * BAR_TICKS + BAR_TICKS // 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title = 'x'\n[sections\n", r"t\.toml: not valid TOML"),
        ("[sections]\nA = '| C |'", r"t\.toml: key 'title' must be"),
        ("title = 'x'\nbars = 3\n[sections]\nA = '| C |'", r"t\.toml, chart 'x': unknown key 'bars'"),
        ("title = 'x'\ntime = '3/4'\n[sections]\nA = '| C |'", r"chart 'x': key 'time' must be \"4/4\""),
        ("title = 'x'\ntempo = 1000\n[sections]\nA = '| C |'", r"chart 'x': key 'tempo' must be"),
        ("title = 'x'\n", r"chart 'x': \[sections\] must name"),
        ("title = 'x'\n[sections]\nA = '| C | H7 |'", r"chart 'x', section 'A': .*bar 2: unknown chord"),
        ("title = 'x'\nform = 'AB'\n[sections]\nA = '| C |'", r"the form names section 'B'"),
        ("title = 'x'\nform = 'A'\n[sections]\nA = '| C |'\nB = '| F |'", r"section 'B' is not in the form"),
        ("title = 'x'\n[sections]\nA = '| C |'\n[endings]\nB = ['| F |']", r"\[endings\] names section 'B'"),
        ("title = 'x'\n[sections]\nA = '| C |'\n[endings]\nA = '| F |'", r"endings of 'A' must be a list"),
        ("title = 'x'\nending = '| C | C |'\n[sections]\nA = '| C |'", r"'ending' is longer than the chorus"),
        ("title = 'x'\nendings = 'x'\n[sections]\nA = '| C |'", r"\[endings\] must map sections"),
        ("title = 'x'\n[sections]\nA = '| Cadd7 |'", r"section 'A': .*bar 1: unknown chord symbol 'Cadd7'"),
        ("title = 'x'\ncoda_after = 1\n[sections]\nA = '| C |'", r"'coda_after' needs a 'coda'"),
        (
            "title = 'x'\ncoda = '| C |'\ncoda_after = 5\n[sections]\nA = '| C |'",
            r"'coda_after' must be a bar",
        ),
    ],
)
def test_a_malformed_chart_is_one_line_naming_file_chart_and_fault(text, message):
    with pytest.raises(ChartError, match=message) as caught:
        chart_from_toml(text, "t.toml")
    assert "\n" not in str(caught.value)


def test_a_charts_folder_loads_what_it_can_and_says_what_it_cannot(tmp_path):
    (tmp_path / "good.toml").write_text("title = 'Mine'\n[sections]\nA = '| Dm7 | G7 | Cmaj7 |'\n")
    (tmp_path / "bad.toml").write_text("title = 'Broken'\n[sections]\nA = '| Q7 |'\n")
    charts, problems = load_charts(tmp_path)
    assert list(charts) == ["good"] and len(problems) == 1 and "bad.toml, chart 'Broken'" in problems[0]
    assert find_chart("mine", tmp_path).title == "Mine"  # by title too, in any case
    with pytest.raises(ChartError, match=r"no tune named 'nothing'.*blues-f"):
        find_chart("nothing", tmp_path)


def test_a_bad_tune_exits_2_from_the_command_line_and_78_from_the_config(tmp_path, capsys):
    chart = tmp_path / "bad.toml"
    chart.write_text("title = 'Broken'\ntime = '3/4'\n[sections]\nA = '| C |'\n")
    assert (
        main(["render", "--tune", str(chart), "--model", "seed-metheny", "-o", str(tmp_path / "x.mid")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.toml, chart 'Broken': key 'time'" in err[0]
    config = tmp_path / "j.toml"
    config.write_text(f'[midi]\nport = "synth"\n[tune]\nname = "{chart}"\n')
    with pytest.raises(ConfigError, match=r"j\.toml: \[tune\] .*bad\.toml, chart 'Broken'") as caught:
        build_options(str(config), {})
    assert caught.value.exit_code == EX_CONFIG
    with pytest.raises(ChartError):  # named on the command line: exit 2
        build_options(str(config), {"tune": str(chart)})


def test_a_tune_sets_chords_tempo_and_form_unless_told_otherwise(tmp_path):
    options = build_options(None, {"port": "synth", "tune": "rhythm-changes", "choruses": 2})
    assert options.bpm == 200 and options.chart.title == "Rhythm changes in Bb"
    assert build_options(None, {"port": "synth", "tune": "rhythm-changes", "bpm": 150}).bpm == 150
    plain = build_options(None, {"port": "synth", "chords": "| Dm7 G7 | Cmaj7 |"})
    assert symbols(plain.chart.chorus()) == symbols(parse_progression("| Dm7 G7 | Cmaj7 |"))
    with pytest.raises(ConfigError, match="count-in and clock out need jazzd's own clock"):
        build_options(None, {"port": "synth", "input": "keys", "clock": "midi", "clock_out": True})


def test_jazzd_tunes_lists_built_in_and_folder_tunes(tmp_path, capsys):
    (tmp_path / "mine.toml").write_text("title = 'Mine'\ntempo = 90\n[sections]\nA = '| C | G7 |'\n")
    assert main(["tunes", "--charts", str(tmp_path), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["mine"] == {
        "title": "Mine",
        "key": "",
        "tempo": 90,
        "form": "A",
        "bars": 2,
        "intro": 0,
        "coda": 0,
        "source": str(tmp_path / "mine.toml"),
    }
    assert listed["blues-f"]["source"] == str(builtin_dir() / "blues-f.toml")


def test_added_notes_power_chords_and_elevenths_read_as_written():
    """`add` with 6, b6, #5, b5, 2, 4 or a tension is read; anything else is one ChordError line
    (no KeyError); C5 has no third; C11 leaves the major third out under the 11th."""
    from jazzd.errors import ChordError
    from jazzd.music.chords import parse_chord

    def above(symbol: str) -> list[int]:
        chord = parse_chord(symbol)
        return sorted((t - chord.root) % 12 for t in chord.tones)

    assert above("C5") == [0, 7] and above("C11") == [0, 5, 7, 10] and above("Cm11") == [0, 3, 7, 10]
    for symbol, added in (("Cadd6", 9), ("Cadd2", 2), ("Cadd#5", 8), ("Cmadd9", 2), ("C-b6", 8)):
        chord = parse_chord(symbol)
        assert (chord.root + added) % 12 in chord.scale, symbol
    for symbol in ("Cadd5", "Cadd7", "Cadd-"):
        with pytest.raises(ChordError, match=f"unknown chord symbol '{symbol}'"):
            parse_chord(symbol)


def test_all_the_things_you_are_ends_home():
    chart = find_chart("all-the-things")
    assert [c.symbol for c in chart.bars(2)[-1]] == ["Abmaj7"]


def test_an_import_never_overwrites_silently(tmp_path, caplog):
    """Titles that make the same file name get -2, -3 (said in a line); the count says what
    was written and what replaced an earlier import; --to naming a file is one line, exit 2."""
    from test_ireal import link, tune

    playlist = link(
        tune("Blue Moon", "[T44C |G7 Z"), tune("Blue  Moon!", "[T44F |C7 Z"), tune("Odd", "[T34C Z")
    )
    folder = tmp_path / "charts"
    caplog.set_level("INFO")
    assert main(["tunes", "import", playlist, "--to", str(folder)]) == 2
    assert sorted(p.name for p in folder.iterdir()) == ["blue-moon-2.toml", "blue-moon.toml"]
    assert "written as blue-moon-2.toml" in caplog.text and "imported 2 of 3 tunes" in caplog.text
    caplog.clear()
    assert main(["tunes", "import", playlist, "--to", str(folder)]) == 2
    assert "imported 2 of 3 tunes into" in caplog.text and "(2 replaced an earlier import)" in caplog.text
    assert main(["tunes", "import", playlist, "--to", str(folder / "blue-moon.toml")]) == 2


def test_tunes_piped_into_a_reader_that_leaves_is_not_an_error(tmp_path):
    import subprocess
    import sys

    pipe = subprocess.run(
        f"{sys.executable} -m jazzd tunes --json | head -c 10", shell=True, capture_output=True, text=True
    )
    assert pipe.returncode == 0 and "Traceback" not in pipe.stderr and "BrokenPipe" not in pipe.stderr
