"""The TOML configuration: the shipped file, precedence, and one line per bad key (exit 78)."""

from pathlib import Path

import pytest

from jazzd.cli import main
from jazzd.live.config import EX_CONFIG, ConfigError, build_options, read_config

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "jazzd.toml"


def test_the_shipped_config_sets_every_key_but_the_tempo_and_reads():
    """Every key is there to edit; the tempo is written commented out, so that a tune called
    from the config plays at its own tempo ("a tune sets the tempo unless bpm is set")."""
    from jazzd.live.config import KEYS

    values = read_config(SHIPPED)
    assert {KEYS[k].field for k in KEYS} - set(values) == {"bpm"}
    assert "# bpm = 120.0" in SHIPPED.read_text()
    options = build_options(str(SHIPPED), {})
    assert options.port == "USB MIDI" and options.input is None and options.register == (55, 84)
    assert options.bpm == 120.0  # no tune: the default
    tune = build_options(str(SHIPPED), {"tune": "autumn-leaves"})
    assert tune.chart.bpm != 120.0 and tune.bpm == tune.chart.bpm


def test_flags_win_over_the_file(tmp_path):
    path = tmp_path / "j.toml"
    path.write_text('[midi]\nport = "Synth"\nchannel = 3\n[clock]\nbpm = 90\n[controls]\npanic = -1\n')
    options = build_options(str(path), {"bpm": 150.0, "channel": None, "motifs": 0.0})
    assert (options.port, options.channel, options.bpm, options.motifs) == ("Synth", 3, 150.0, 0.0)
    assert options.controls.panic is None and options.controls.density == 72


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[midi]\nprot = "x"', "unknown key 'midi.prot'"),
        ("[clock]\nbpm = 1000", "key 'clock.bpm' must be a number of beats per minute, 20-400, not 1000"),
        ('[clock]\nbpm = "fast"', "key 'clock.bpm' must be a number"),
        ("[midi]\nchannel = 17", "key 'midi.channel' must be a whole number 1-16"),
        ("[midi]\nchannel = true", "key 'midi.channel' must be a whole number 1-16, not True"),
        ('[keyboard]\nmode = "duet"', 'key \'keyboard.mode\' must be "solo" or "trade" or "answer"'),
        ("[solo]\nregister = [60, 65]", "key 'solo.register' must be [low, high]"),
        ("[solo]\nmotifs = 1.5", "key 'solo.motifs' must be a share 0-1 (0: no motif memory), not 1.5"),
        ('[solo]\nchords = "| H7 |"', "key 'solo.chords' must be a progression"),
        ("[midi\nport = 1", "not valid TOML"),
    ],
)
def test_bad_values_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_config(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_each_bad_key_gets_its_line_and_exit_78(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('[midi]\nport = "x"\nchannel = 0\n[clock]\nswing = 0.9\n')
    code = main(["--config", str(path)])
    lines = capsys.readouterr().err.splitlines()
    assert code == EX_CONFIG == 78
    assert len(lines) == 2 and all(line.startswith(f"jazzd: error: {path}: key ") for line in lines)


def test_a_missing_port_is_a_config_error(tmp_path, capsys):
    path = tmp_path / "j.toml"
    path.write_text("[clock]\nbpm = 100\n")
    assert main(["--config", str(path)]) == 78
    assert "name the synth's output port" in capsys.readouterr().err


def test_a_missing_config_file_is_named(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.toml"), "--port", "x"]) == 78
    assert "nope.toml: cannot read the config" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--model", "nosuch"], "--model must be a shipped model's name"),
        (["--chords", "| H7 |"], "--chords must be a progression"),
    ],
)
def test_flags_obey_the_configs_ranges(flags, message, capsys):
    code = main(["--port", "x", *flags])
    assert code == EX_CONFIG and message in capsys.readouterr().err


def test_a_model_that_does_not_load_is_a_config_error_with_its_reason(tmp_path):
    path = tmp_path / "j.toml"
    path.write_text('[solo]\nmodel = "wjazd"\n')
    with pytest.raises(ConfigError, match=r"key 'solo.model' must be .*no model 'wjazd' \(shipped models: "):
        read_config(path)


def test_a_setting_declared_once_has_its_flag_and_reaches_the_options(monkeypatch, capsys):
    """The flags are made from the config's keys: each key with a help has its flag, and a flag
    given reaches PlayOptions through the same checks as the file."""
    from jazzd.cli import build_parser
    from jazzd.live.config import KEYS

    usage = build_parser().format_help()
    assert all(spec.flag in usage for spec in KEYS.values() if spec.help)
    seen = {}
    monkeypatch.setattr("jazzd.live.daemon.play", lambda load: seen.setdefault("options", load()) and 0)
    main(
        [
            "--port",
            "x",
            "--bpm",
            "150",
            "--count-in",
            "2",
            "--virtual",
            "--mode",
            "trade",
            "--midi-api",
            "jack",
        ]
    )
    options = seen["options"]
    assert (options.bpm, options.count_in, options.virtual, options.mode, options.midi_api) == (
        150,
        2,
        True,
        "trade",
        "jack",
    )
    with pytest.raises(SystemExit) as caught:  # a number out of range: argparse's one line, exit 2
        main(["--port", "x", "--count-in", "3"])
    assert caught.value.code == 2 and "--count-in: must be 0, 1 or 2 bars" in capsys.readouterr().err
