"""The JACK output writer: a small process of its own that owns jazzd's JACK output port and
writes every message at the exact frame it is due.

Why: python-rtmidi's JACK output writes each message at the start of the cycle after it was
handed over, so at the receiver every time is rounded up to a period (1.33 ms at 64 frames): a
24-ppqn clock arrives with one period of jitter. Here the timing thread hands each message over a
few milliseconds ahead with its due time, and the process callback writes it at its frame. Why a
process: the callback needs Python's GIL every period, which it gets at once only where nothing
else runs (the same reason the input reader and the test rig are processes of their own).

Records on stdin: float64 due time on `time.perf_counter` (CLOCK_MONOTONIC, as in jazzd; NaN: as
soon as possible), uint8 length, the bytes. The writer answers one line on stdout — `ok RATE
PERIOD` once connected, or `error …` — and ends by itself (exit 3) when its connection is gone
(the synth vanished): that is how the player learns it.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import os
import queue
import signal
import struct
import sys
import threading
import time

RECORD = struct.Struct("<dB")
WATCH_SECONDS = 0.25  # how often the connection is checked
MAX_INCOMING = 256  # messages taken from the queue per cycle: bounded work in the callback
LOST_PORT = 3  # the exit code when the connection is gone


def write_due(
    port, heap: list[tuple[int, int, bytes]], start: int, frames: int, full: type[Exception]
) -> int:
    """Write the events of `heap` ((frame, seq, bytes)) that fall before the end of the cycle
    starting at frame `start`, each at its offset (a late one at the cycle's start); `full` (the
    buffer is full) leaves the rest for the next cycle. Returns how many were late. The cycle of
    both this writer and the measuring rig."""
    late = 0
    while heap and heap[0][0] < start + frames:
        frame, _, data = heap[0]
        try:
            port.write_midi_event(max(0, frame - start), data)
        except full:
            break
        heapq.heappop(heap)
        late += frame < start
    return late


class Writer:
    def __init__(self, client_name: str, target: str | None, port_name: str):
        import jack

        self.jack = jack
        self.client = jack.Client(client_name, no_start_server=True)
        self.port = self.client.midi_outports.register(port_name)
        self.rate = self.client.samplerate
        self.incoming: queue.SimpleQueue = queue.SimpleQueue()
        self._heap: list[tuple[int, int, bytes]] = []
        self._seq = itertools.count()
        self._last = 0  # the frame given to the last message
        self.lost = threading.Event()  # our connection went away
        self.client.set_process_callback(self._process)
        self.client.set_port_connect_callback(self._connection_changed)
        self.client.activate()
        if target is not None:
            self.client.connect(self.port, target)

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
        now, start = time.perf_counter(), self.client.last_frame_time
        self.port.clear_buffer()
        for _ in range(MAX_INCOMING):
            try:
                due, data = self.incoming.get_nowait()
            except queue.Empty:
                break
            heapq.heappush(self._heap, (self.frame_of(due, start, now), next(self._seq), data))
        write_due(self.port, self._heap, start, frames, self.jack.JackErrorCode)

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
        """JACK's notification: a connection of ours ended (the synth's port went away). Asking
        for the port's connections from a thread of ours instead was seen to crash libjack
        while the graph changed."""
        if not connect and self.port.name in (a.name, b.name):
            self.lost.set()

    def close(self, drain: float) -> None:
        deadline = time.perf_counter() + drain
        while (self._heap or not self.incoming.empty()) and time.perf_counter() < deadline:
            time.sleep(0.005)
        time.sleep(2 * self.client.blocksize / self.rate)  # the last cycle goes out
        self.client.deactivate()
        self.client.close()


def main(argv: list[str]) -> int:
    """jazzd.live.writer PRIORITY CLIENT TARGET|--virtual NAME: connect, answer, write until
    stdin ends."""
    priority, client_name, target = int(argv[0]), argv[1], argv[2]
    virtual = target == "--virtual"
    out = sys.stdout
    try:
        writer = Writer(client_name, None if virtual else target, argv[3] if virtual else "out")
    except Exception as exc:
        out.write(f"error {exc}\n")
        out.flush()
        return 1
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    reading = threading.Thread(
        target=lambda: (writer.read(sys.stdin.buffer, priority), stopped.set()), daemon=True
    )
    reading.start()
    out.write(f"ok {writer.rate} {writer.client.blocksize}\n")
    out.flush()
    code, parent = 0, os.getppid()
    while not stopped.wait(WATCH_SECONDS):
        if os.getppid() != parent:
            break
        if writer.lost.is_set():
            code = LOST_PORT  # the synth's port vanished: the player sees this writer end
            break
    writer.close(drain=0.0 if code else 0.2)
    return code


if __name__ == "__main__":
    sys.stdout.flush()
    os._exit(main(sys.argv[1:]))  # not a normal exit: the reading thread may still block on stdin
