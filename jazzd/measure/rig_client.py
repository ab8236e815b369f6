"""The test rig's JACK client, run as a process of its own: the synth jazzd plays into and the
keyboard / clock source it listens to, and nothing else.

Why a process that does nothing else: python-rtmidi's JACK input callback loses and corrupts
messages when another thread of its process is busy, so a receiver living in the test process
could invent stuck or extra notes. Here the only other thread blocks on reading commands.

Events are written at exact frames and received with their frame; each received event also gets
its time on the system's CLOCK_MONOTONIC (jazzd's `time.perf_counter`), converted from JACK's
own clock (CLOCK_MONOTONIC_RAW) with `jack_frames_to_time`.

Commands are JSON lines on stdin, one JSON answer line each on stdout:
  {"op": "sink", "name": N}          register an input port (a synth)
  {"op": "source", "name": N}        register an output port (a keyboard, a clock)
  {"op": "remove", "name": N}        unregister a port (unplug it)
  {"op": "now", "since": I}          {"frame": F, "rate": R, "period": P, "late": events written late,
                                      "xruns": [frames of xruns from the I-th on]}
  {"op": "send", "name": N, "events": [[frame or null, [bytes]], ...]}   null: next cycle
  {"op": "received", "name": N, "since": I}   {"events": [[frame, seconds, [bytes]], ...]}
  {"op": "quit"}
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import json
import queue
import sys
import time

import jack

MAX_INCOMING = 256  # scheduled events taken into the heap per cycle


class RigClient:
    def __init__(self, name: str):
        self.client = jack.Client(name, no_start_server=True)
        lib = ctypes.CDLL("libjack.so.0")
        lib.jack_frames_to_time.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.jack_frames_to_time.restype = ctypes.c_uint64
        self._frames_to_time = lib.jack_frames_to_time
        self._handle = int(jack._ffi.cast("uintptr_t", self.client._ptr))
        self.sinks: dict[str, tuple[jack.MidiPort, list]] = {}
        self.sources: dict[str, tuple[jack.MidiPort, list, queue.SimpleQueue]] = {}
        self._sinks: tuple = ()  # snapshots the process callback reads; replaced whole
        self._sources: tuple = ()
        self._seq = itertools.count()
        self.late = 0  # events written after their frame (the rig fell behind): reported by "now"
        self.xruns: list[int] = []  # frames of cycles some client did not finish in time
        self.client.set_process_callback(self.process)
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()

    def process(self, frames: int) -> None:
        start = self.client.last_frame_time
        for port, received in self._sinks:
            for offset, data in port.incoming_midi_events():
                frame = start + offset
                received.append((frame, self._frames_to_time(self._handle, frame), bytes(data)))
        for port, heap, incoming in self._sources:
            port.clear_buffer()
            for _ in range(MAX_INCOMING):  # a bounded amount of work per cycle
                if incoming.empty():
                    break
                heapq.heappush(heap, incoming.get_nowait())
            self.late += self._write(port, heap, start, start + frames)

    @staticmethod
    def _write(port: jack.MidiPort, heap: list, start: int, end: int) -> int:
        """Write what falls in the cycle from frame `start` to `end` at its frame (a late one
        at the cycle's first); a full buffer leaves the rest for the next cycle. Returns how
        many were late. The rig's own code, not the writer's: what judges jazzd must not share
        the code it judges."""
        late = 0
        while heap and heap[0][0] < end:
            frame, _, data = heap[0]
            try:
                port.write_midi_event(max(0, frame - start), data)
            except jack.JackErrorCode:
                return late
            heapq.heappop(heap)
            late += frame < start
        return late

    def _xrun(self, delayed_usecs: float) -> None:
        self.xruns.append(self.client.frame_time)

    def _snapshot(self) -> None:
        self._sinks = tuple(self.sinks.values())
        self._sources = tuple((p, h, q) for p, h, q in self.sources.values())

    def handle(self, command: dict) -> dict:
        op = command["op"]
        name = command.get("name")
        if op == "sink":
            port = self.client.midi_inports.register(name)
            self.sinks[name] = (port, [])
            self._snapshot()
            return {"port": port.name}
        if op == "source":
            port = self.client.midi_outports.register(name)
            self.sources[name] = (port, [], queue.SimpleQueue())
            self._snapshot()
            return {"port": port.name}
        if op == "remove":
            port = (self.sinks.pop(name, None) or self.sources.pop(name))[0]
            self._snapshot()
            time.sleep(0.02)  # let the process callback finish with the port
            port.unregister()
            return {}
        if op == "now":
            return {
                "frame": self.client.frame_time,
                "rate": self.client.samplerate,
                "period": self.client.blocksize,
                "late": self.late,
                "xruns": self.xruns[command.get("since", 0) :],
            }
        if op == "send":
            incoming = self.sources[name][2]
            for frame, data in command["events"]:
                incoming.put((0 if frame is None else frame, next(self._seq), bytes(data)))
            return {}
        if op == "received":
            received = self.sinks[name][1] if name in self.sinks else []
            offset = time.clock_gettime(time.CLOCK_MONOTONIC) - time.clock_gettime(time.CLOCK_MONOTONIC_RAW)
            return {"events": [[f, t / 1e6 + offset, list(d)] for f, t, d in received[command["since"] :]]}
        raise ValueError(f"unknown op {op!r}")


def main() -> None:
    sys.setswitchinterval(0.0002)  # the process callback gets the interpreter within a fraction of a cycle
    rig = RigClient(sys.argv[1] if len(sys.argv) > 1 else "rig")
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "quit":
            break
        print(json.dumps(rig.handle(command)), flush=True)
    rig.client.deactivate()
    rig.client.close()


if __name__ == "__main__":
    main()
