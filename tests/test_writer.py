"""The JACK writer's cycle with a stand-in `jack` module (a real server's frame counter cannot be
fast-forwarded to its wrap): frames unwrapped past 2^32, every note and note-off of a line that
spans the wrap written in order at its frame, the silence it writes itself as it ends, and which
lost connection means the synth went away."""

import sys
import types

import pytest

from jazzd.live.writer import FRAME_WRAP, FramePosition, SoundingNotes, Writer

RATE, PERIOD = 48000, 64


class FakePort:
    def __init__(self, name: str):
        self.name = name
        self.buffer: list[tuple[int, bytes]] = []
        self.capacity = 1000

    def clear_buffer(self) -> None:
        self.buffer = []

    def write_midi_event(self, offset: int, data: bytes) -> None:
        if len(self.buffer) >= self.capacity:
            raise FakeJack.JackErrorCode("full")
        assert 0 <= offset < PERIOD
        self.buffer.append((offset, bytes(data)))


class FakeClient:
    """A client whose frame counter starts where the test says and moves a period per cycle."""

    start_frame = 0

    def __init__(self, name: str, no_start_server: bool = True):
        self.name = name
        self.samplerate, self.blocksize = RATE, PERIOD
        self.last_frame_time = FakeClient.start_frame % FRAME_WRAP
        self.time = 100.0  # the stand-in perf_counter at this cycle
        self.written: list[tuple[int, bytes]] = []  # (absolute frame, bytes), as a receiver sees them
        self.absolute = FakeClient.start_frame
        self.midi_outports = types.SimpleNamespace(register=self._register)
        self.connected: list[str] = []

    def _register(self, name: str) -> FakePort:
        self.port = FakePort(f"{self.name}:{name}")
        return self.port

    def set_process_callback(self, callback) -> None:
        self.process = callback

    def set_port_connect_callback(self, callback) -> None:
        self.on_connect = callback

    def set_shutdown_callback(self, callback) -> None:
        self.on_shutdown = callback

    def activate(self) -> None:
        pass

    def connect(self, source, destination: str) -> None:
        self.connected.append(destination)

    def cycle(self) -> None:
        self.process(PERIOD)
        self.written += [(self.absolute + offset, data) for offset, data in self.port.buffer]
        self.absolute += PERIOD
        self.last_frame_time = self.absolute % FRAME_WRAP
        self.time += PERIOD / RATE


class FakeJack(types.ModuleType):
    class JackError(Exception):
        pass

    class JackErrorCode(JackError):
        pass

    Client = FakeClient


@pytest.fixture
def writer(monkeypatch):
    """A Writer on the stand-in `jack`, its clock the stand-in client's."""
    monkeypatch.setitem(sys.modules, "jack", FakeJack("jack"))

    def make(start_frame: int, target: str | None = "synth:in", patches=()) -> Writer:
        FakeClient.start_frame = start_frame
        made = Writer("jazzd-out", target, "out", patches, now=lambda: made.client.time)
        return made

    return make


def test_the_frame_position_goes_on_past_the_wrap():
    position = FramePosition()
    raws = [FRAME_WRAP - 128, FRAME_WRAP - 64, 0, 64, FRAME_WRAP - 64, 0]  # a wrap, then another
    assert [position(r) for r in raws] == [
        FRAME_WRAP - 128,
        FRAME_WRAP - 64,
        FRAME_WRAP,
        FRAME_WRAP + 64,
        2 * FRAME_WRAP - 64,
        2 * FRAME_WRAP,
    ]


def test_a_line_across_the_frame_wrap_plays_every_note_and_note_off_in_order(writer):
    """The counter starts 0.3 s before 2^32; 16 messages (8 notes) handed over 10 ms ahead of
    their due times, 50 ms apart, the wrap in the middle: all 16 written, in order, each at the
    frame of its due time."""
    w = writer(FRAME_WRAP - round(0.3 * RATE))
    client = w.client
    first_due = client.time + 0.1
    messages = []
    for i in range(8):
        due = first_due + i * 0.1
        messages += [(due, bytes((0x90, 60 + i, 100))), (due + 0.05, bytes((0x80, 60 + i, 0)))]
    pending = list(messages)
    while client.time < first_due + 1.0:
        while pending and pending[0][0] <= client.time + 0.01:
            w.incoming.put(pending.pop(0))
        client.cycle()
    assert [data for _, data in client.written] == [data for _, data in messages]
    frames = [frame for frame, _ in client.written]
    expected = [FakeClient.start_frame + round((due - 100.0) * RATE) for due, _ in messages]
    assert all(abs(f - e) <= 1 for f, e in zip(frames, expected, strict=True)), (frames, expected)
    assert frames == sorted(frames) and frames[0] < FRAME_WRAP < frames[-1]
    assert not w.sounding.notes


def test_as_it_ends_it_drops_what_is_queued_and_writes_the_silence(writer):
    w = writer(0)
    client = w.client
    w.incoming.put((client.time, bytes((0x90, 64, 90))))  # sounds now
    w.incoming.put((client.time, bytes((0x99, 37, 80))))  # a count-in click on channel 10
    w.incoming.put((client.time + 0.5, bytes((0x90, 67, 90))))  # due later: never written
    client.cycle()
    w._closing = True
    client.cycle()
    client.cycle()
    assert [d for _, d in client.written] == [
        bytes((0x90, 64, 90)),
        bytes((0x99, 37, 80)),
        bytes((0x80, 64, 0)),
        bytes((0x89, 37, 0)),
        bytes((0xB0, 123, 0)),
        bytes((0xB9, 123, 0)),
    ]
    assert w.silenced == [d for _, d in client.written[2:]] and not w.sounding.notes


def test_the_silence_that_does_not_fit_a_cycle_goes_out_in_the_next(writer):
    w = writer(0)
    client = w.client
    for note in range(40):
        w.incoming.put((client.time, bytes((0x90, 40 + note, 90))))
    client.cycle()
    client.port.capacity = 16
    w._closing = True
    client.cycle()
    assert len(client.port.buffer) == 16 and w.sounding.notes
    client.port.capacity = 1000
    client.cycle()
    assert not w.sounding.notes and w._final == []


def test_only_the_target_leaving_is_the_synth_gone_and_the_other_patches_are_kept(writer):
    w = writer(0, patches=("recorder:in", "monitor:in"))
    client = w.client
    assert client.connected == ["synth:in", "recorder:in", "monitor:in"]
    ours = client.port

    def port(name):
        return types.SimpleNamespace(name=name)

    for name in ("synth:in", "recorder:in", "monitor:in"):
        client.on_connect(ours, port(name), True)
    client.on_connect(port("other:out"), port("elsewhere:in"), False)  # not ours
    client.on_connect(ours, port("monitor:in"), False)  # the user unpatched the monitor
    assert not w.lost.is_set()
    assert w.user_patches() == ["recorder:in"]
    client.on_connect(ours, port("synth:in"), False)
    assert w.lost.is_set()


def test_a_virtual_port_is_never_lost(writer):
    w = writer(0, target=None)
    client = w.client
    client.on_connect(client.port, types.SimpleNamespace(name="recorder:in"), True)
    client.on_connect(client.port, types.SimpleNamespace(name="recorder:in"), False)
    assert not w.lost.is_set()


def test_sounding_notes_follow_the_bytes():
    sounding = SoundingNotes()
    for data in ([0x90, 60, 90], [0x91, 62, 90], [0x90, 64, 0], [0x80, 61, 0], [0xF8, 0, 0], [0xB1, 123, 0]):
        sounding.wrote(bytes(data))
    assert sounding.notes == {(0, 60)} and sounding.channels == {0, 1}
    assert sounding.silence() == [bytes((0x80, 60, 0)), bytes((0xB0, 123, 0)), bytes((0xB1, 123, 0))]
