"""The JACK output writer: a small process of its own that owns jazzd's JACK output port and
writes every message at the exact frame it is due.

Why: python-rtmidi's JACK output writes each message at the start of the cycle after it was
handed over, so at the receiver every time is rounded up to a period (1.33 ms at 64 frames): a
24-ppqn clock arrives with one period of jitter. Here the timing thread hands each message over a
few milliseconds ahead with its due time, and the process callback writes it at its frame. Why a
process: the callback needs Python's GIL every period, which it gets at once only where nothing
else runs (the same reason the input reader and the test rig are processes of their own).

It never leaves a note sounding: it ignores INT, TERM and HUP (helpers.py) and ends when the
player closes its pipe or dies; it knows every note it wrote, and on any end — after what it was
handed, or at once when the synth or the server went away — it writes the note-offs still
missing and All Notes Off on each channel it used, then closes the port.

Settings: one JSON argument (priority, client, target or virtual port name, patches: the other
destinations the user had patched, connected again). Records on stdin: float64 due time on
`time.perf_counter` (CLOCK_MONOTONIC, as in jazzd; NaN: as soon as possible), uint8 length, the
bytes. The writer answers one line on stdout — `ok RATE PERIOD` once connected, or `error …` —
and, as it ends, `silenced HEX…` (the messages it wrote itself) and `patches [JSON list]`. It
ends by itself when the connection to its target is gone (exit 3: the synth vanished) or the
JACK server shut down (exit 4): that is how the player learns it. Only the target's connection
counts: the user's other patches may come and go.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import math
import os
import queue
import struct
import sys
import threading
import time
from collections.abc import Callable

from jazzd.live.helpers import ignore_stop_signals
from jazzd.music.midi import ALL_NOTES_OFF, ALL_SOUND_OFF, CONTROL_CHANGE, NOTE_OFF, NOTE_ON

RECORD = struct.Struct("<dB")
WATCH_SECONDS = 0.05  # how often the main thread looks for the end
MAX_INCOMING = 256  # messages taken from the queue per cycle: bounded work in the callback
DRAIN_SECONDS = 0.2  # on the player's end: what it handed over is written up to this long
SILENCE_SECONDS = 0.2  # the longest the last note-offs wait for a cycle to write them
LOST_PORT = 3  # the exit code when the connection to the target is gone
LOST_SERVER = 4  # ... when the JACK server shut down
FRAME_WRAP = 2**32  # JACK's frame counter is 32 bits: it wraps every 24.9 h at 48 kHz


class FramePosition:
    """JACK's 32-bit frame counter unwrapped into a position that never wraps: read it at least
    once every 2^31 frames (12 h at 48 kHz; the callback reads it every period)."""

    def __init__(self) -> None:
        self._raw: int | None = None
        self._base = 0

    def __call__(self, raw: int) -> int:
        if self._raw is not None and raw < self._raw - FRAME_WRAP // 2:
            self._base += FRAME_WRAP
        self._raw = raw
        return self._base + raw


class SoundingNotes:
    """The notes a port has sounding and the channels it used, from the bytes written to it."""

    def __init__(self) -> None:
        self.notes: set[tuple[int, int]] = set()  # (channel, note)
        self.channels: set[int] = set()

    def wrote(self, data: bytes) -> None:
        if len(data) < 3 or data[0] >= 0xF0:
            return
        kind, channel = data[0] & 0xF0, data[0] & 0x0F
        if kind == NOTE_ON and data[2]:
            self.notes.add((channel, data[1]))
        elif kind in (NOTE_ON, NOTE_OFF):
            self.notes.discard((channel, data[1]))
        elif kind == CONTROL_CHANGE and data[1] in (ALL_SOUND_OFF, ALL_NOTES_OFF):
            self.notes = {n for n in self.notes if n[0] != channel}
        else:
            return
        self.channels.add(channel)

    def silence(self) -> list[bytes]:
        """A note-off for each sounding note, then All Notes Off on each channel used."""
        offs = [bytes((NOTE_OFF | ch, note, 0)) for ch, note in sorted(self.notes)]
        return offs + [bytes((CONTROL_CHANGE | ch, ALL_NOTES_OFF, 0)) for ch in sorted(self.channels)]


def write_due(
    port,
    heap: list[tuple[int, int, bytes]],
    start: int,
    frames: int,
    full: type[Exception],
    wrote: Callable[[bytes], None] | None = None,
) -> int:
    """Write the events of `heap` ((frame, seq, bytes)) that fall before the end of the cycle
    starting at frame `start`, each at its offset (a late one at the cycle's start), telling
    `wrote` of each; `full` (the buffer is full) leaves the rest for the next cycle. Returns how
    many were late."""
    late = 0
    while heap and heap[0][0] < start + frames:
        frame, _, data = heap[0]
        try:
            port.write_midi_event(max(0, frame - start), data)
        except full:
            break
        heapq.heappop(heap)
        late += frame < start
        if wrote is not None:
            wrote(data)
    return late


class Writer:
    def __init__(
        self,
        client_name: str,
        target: str | None,
        port_name: str,
        patches: tuple[str, ...] = (),
        now: Callable[[], float] = time.perf_counter,
    ):
        import jack

        self.jack = jack
        self.now = now
        self.client = jack.Client(client_name, no_start_server=True)
        self.port = self.client.midi_outports.register(port_name)
        self.rate = self.client.samplerate
        self.target = target
        self.patches: set[str] = set()  # every port ours is connected to, the target included
        self.incoming: queue.SimpleQueue = queue.SimpleQueue()
        self.sounding = SoundingNotes()
        self.position = FramePosition()
        self._heap: list[tuple[int, int, bytes]] = []
        self._seq = itertools.count()
        self._last = 0  # the frame given to the last message
        self._closing = False  # set by `finish`: the callback writes only the silence
        self._final: list[bytes] | None = None  # ... the silence still to write
        self.silenced: list[bytes] = []  # ... and what of it was written
        self.lost = threading.Event()  # the connection to the target went away
        self.server_gone = threading.Event()  # the JACK server shut down
        self.client.set_process_callback(self._process)
        self.client.set_port_connect_callback(self._connection_changed)
        self.client.set_shutdown_callback(lambda status, reason: self.server_gone.set())
        self.client.activate()
        for each in (target, *patches):
            if each is None:
                continue
            try:
                self.client.connect(self.port, each)
            except self.jack.JackError:
                if each == target:
                    raise  # a patch that is gone is simply not restored

    def frame_of(self, due: float, start: int, now: float) -> int:
        """The frame for a perf_counter time (a few ms ahead), from this cycle's first frame and
        the time it is processed (NaN: this cycle) — the same reading of JACK's time as the
        input's, which stamps what it hears when its cycle is processed: so a line following a
        MIDI clock lands on the master's frames, even where the driver's frames slip against
        the wall clock. Never before the frame given to the message before: messages come in
        the order they must sound, and two due together must not trade places by rounding."""
        frame = start if math.isnan(due) else start + round((due - now) * self.rate)
        self._last = max(frame, self._last)
        return self._last

    def _process(self, frames: int) -> None:
        now, start = self.now(), self.position(self.client.last_frame_time)
        self.port.clear_buffer()
        if self._closing:
            self._write_final()
            return
        for _ in range(MAX_INCOMING):
            try:
                due, data = self.incoming.get_nowait()
            except queue.Empty:
                break
            heapq.heappush(self._heap, (self.frame_of(due, start, now), next(self._seq), data))
        write_due(self.port, self._heap, start, frames, self.jack.JackErrorCode, self.sounding.wrote)

    def _write_final(self) -> None:
        """Closing: nothing queued is written any more, only the silence (what fits this cycle)."""
        if self._final is None:
            self._heap.clear()
            self._final = self.sounding.silence()
        while self._final:
            try:
                self.port.write_midi_event(0, self._final[0])
            except self.jack.JackErrorCode:
                return
            self.silenced.append(self._final.pop(0))
            self.sounding.wrote(self.silenced[-1])

    def read(self, pipe, priority: int) -> None:
        """Records from the player until it closes the pipe; at the timing thread's real-time
        priority where allowed (a record waiting for a busy core would miss its cycle)."""
        if priority:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        while header := pipe.read(RECORD.size):
            if len(header) < RECORD.size:
                return
            due, size = RECORD.unpack(header)
            self.incoming.put((due, pipe.read(size)))

    def _connection_changed(self, a, b, connect: bool) -> None:
        """JACK's notification of a connection made or broken. Only the target's going away is
        the synth leaving; the others are the user's patches, kept to be restored on a
        reconnect. Asking for the port's connections from a thread of ours instead was seen to
        crash libjack while the graph changed."""
        if self.port.name not in (a.name, b.name):
            return
        other = b.name if a.name == self.port.name else a.name
        if connect:
            self.patches.add(other)
            return
        self.patches.discard(other)
        if other == self.target:
            self.lost.set()

    def finish(self, drain: float) -> None:
        """Write what was handed over (up to `drain` seconds), then the silence, then leave the
        graph. With the server gone nothing can be written: the process simply ends."""
        if self.server_gone.is_set():
            return
        deadline = time.perf_counter() + drain
        while (self._heap or not self.incoming.empty()) and time.perf_counter() < deadline:
            time.sleep(0.005)
        self._closing = True
        deadline = time.perf_counter() + SILENCE_SECONDS
        while (self._final is None or self._final) and time.perf_counter() < deadline:
            time.sleep(0.002)
        time.sleep(2 * self.client.blocksize / self.rate)  # the last cycle goes out
        self.client.deactivate()
        self.client.close()

    def user_patches(self) -> list[str]:
        return sorted(self.patches - {self.target})


def main(argv: list[str]) -> int:
    """jazzd.live.writer SETTINGS_JSON: connect, answer, write until stdin ends."""
    ignore_stop_signals()
    settings = json.loads(argv[0])
    virtual = settings.get("virtual")
    out = sys.stdout
    try:
        writer = Writer(
            settings["client"],
            None if virtual else settings["target"],
            virtual or "out",
            tuple(settings.get("patches", ())),
        )
    except Exception as exc:
        out.write(f"error {exc}\n")
        out.flush()
        return 1
    ended = threading.Event()
    reading = threading.Thread(
        target=lambda: (writer.read(sys.stdin.buffer, settings.get("priority", 0)), ended.set()),
        daemon=True,
    )
    reading.start()
    out.write(f"ok {writer.rate} {writer.client.blocksize}\n")
    out.flush()
    code = 0
    while not ended.wait(WATCH_SECONDS):
        if writer.server_gone.is_set():
            code = LOST_SERVER
            break
        if writer.lost.is_set():
            code = LOST_PORT  # the synth's port vanished: the player sees this writer end
            break
    writer.finish(drain=0.0 if code else DRAIN_SECONDS)
    with contextlib.suppress(OSError):  # the player is gone: no one to tell
        out.write(f"silenced {' '.join(data.hex() for data in writer.silenced)}\n")
        out.write(f"patches {json.dumps(writer.user_patches())}\n")
        out.flush()
    return code


if __name__ == "__main__":
    sys.stdout.flush()
    os._exit(main(sys.argv[1:]))  # not a normal exit: the reading thread may still block on stdin
