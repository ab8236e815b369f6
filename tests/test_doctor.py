"""`jazzd doctor`: the findings a Pi user reads before a gig."""

import json

from jazzd.cli import main
from jazzd.live import doctor


def test_a_32_bit_system_fails_with_what_to_install(monkeypatch):
    monkeypatch.setattr(doctor.platform, "machine", lambda: "armv7l")
    found = doctor.architecture()
    assert found.status == "fail" and "64-bit Raspberry Pi OS (arm64)" in found.detail


def test_a_missing_alsa_library_fails_and_names_the_package(monkeypatch):
    from jazzd.live import ports

    monkeypatch.setattr(ports, "rtmidi", None)
    monkeypatch.setattr(
        ports, "RTMIDI_PROBLEM", "libasound.so.2: cannot open shared object file", raising=False
    )
    found = doctor.midi_library()
    assert found.status == "fail" and "apt install libasound2" in found.detail


def test_a_slow_governor_is_a_warning(tmp_path):
    cpu = tmp_path / "cpu0" / "cpufreq"
    cpu.mkdir(parents=True)
    (cpu / "scaling_governor").write_text("ondemand\n")
    found = doctor.governor(tmp_path)
    assert found.status == "warn" and "ondemand" in found.detail and "performance" in found.detail


def test_the_running_jack_server_and_its_ports_are_listed(rig, capsys):
    rig.synth("doctor-synth")
    code = main(["doctor", "--json"])
    findings = {f["check"]: f for f in json.loads(capsys.readouterr().out)}
    assert code == 0
    assert {
        "architecture",
        "python",
        "packages",
        "MIDI library",
        "real-time priority",
        "CPU governor",
    } <= set(findings)
    assert findings["JACK server"]["status"] == "ok" and "doctor-synth" in findings["JACK server"]["detail"]


def test_the_web_page_finding_gives_the_link_and_fails_without_a_token(tmp_path):
    config = tmp_path / "j.toml"
    assert doctor.web_page(config).detail.startswith("off")
    config.write_text("[web]\nenabled = true\nport = 8181\n")
    assert doctor.web_page(config).detail == "http://127.0.0.1:8181/ (this machine only)"
    token = tmp_path / "token"
    config.write_text(f'[web]\nenabled = true\naddress = "10.0.0.5"\ntoken_file = "{token}"\n')
    missing = doctor.web_page(config)
    assert missing.status == "fail" and "jazzd web-token --new" in missing.detail
    assert main(["web-token", "--new", "--config", str(config)]) == 0
    assert doctor.web_page(config).detail == f"http://10.0.0.5:8080/?token={token.read_text().strip()}"
