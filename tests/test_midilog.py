"""The MIDI log: what the timing and input threads append, the main thread writes as JSON lines,
in order, with the port and the times a judge needs."""

import json

import mido

from jazzd.live.midilog import MidiLog


def test_sent_and_received_messages_are_written_in_order_as_json_lines(tmp_path):
    path = tmp_path / "midi.jsonl"
    log = MidiLog(str(path))
    log.sent(mido.Message("note_on", note=60, velocity=90), 1.5, 1.49, "synth")
    log.received(mido.Message("clock"), 1.6, "keys")
    assert path.read_text() == ""  # appended only: the threads never write the file
    log.write()
    log.sent(mido.Message("control_change", control=123, value=0), None, 2.0, "synth")
    log.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {"dir": "out", "due": 1.5, "t": 1.49, "data": [0x90, 60, 90], "port": "synth"},
        {"dir": "in", "due": None, "t": 1.6, "data": [0xF8], "port": "keys"},
        {"dir": "out", "due": None, "t": 2.0, "data": [0xB0, 123, 0], "port": "synth"},
    ]
