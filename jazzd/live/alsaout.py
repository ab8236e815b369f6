"""jazzd's ALSA output: messages handed to an ALSA sequencer queue ahead of time, stamped with
the time they are due, and delivered by the kernel — the ALSA side of the JACK writer's design.

Why: sent when the timing thread wakes, a message arrives as late as Python woke (p50 0.7–2.7
ms, p99 5 ms at the receiver in a VM); queued `lead` ahead, the kernel's high-resolution timer
delivers it on time whatever Python is doing. The queue's timer ticks at `QUEUE_HZ` (ALSA's
default, 1 kHz, delivers up to a millisecond late). Its real-time clock is mapped to
`time.perf_counter` (CLOCK_MONOTONIC) by reading both, and read again every second: the two
were seen to part by about 8 µs a second.

Stopping: `drop_pending` takes back every note-on still queued (a flush, a panic, a stop), so
the note-offs sent after it, at once, end whatever sounds. The queue and port are the client's:
closing waits for what is queued (the last note-offs) to be delivered first.

python-rtmidi has no queues; alsa-midi (cffi over alsa-lib, maintained) has them. The same face
as `ports.Output` and `jackout.FrameOutput`.
"""

from __future__ import annotations

import contextlib
import threading
import time

import mido

from jazzd.live.ports import CLIENT_NAME, PortLost, PortNotFound, match_port

QUEUE_HZ = 4000  # the queue timer's tick: 0.25 ms
LEAD_SECONDS = 0.010  # how far ahead the timing thread hands a message over
RESYNC_SECONDS = 1.0  # how often the queue's clock is read against ours
SAMPLES = 16  # readings per mapping: the one read in the shortest time is kept ...
BRACKET_SECONDS = 50e-6  # ... if that short: a busy machine's readings keep the mapping they had


def alsa_name(client_name: str, port_name: str, client: int, port: int) -> str:
    """A port's name as python-rtmidi lists it on ALSA (what `jazzd ports` shows)."""
    return f"{client_name}:{port_name} {client}:{port}"


class QueueOutput:
    """An output port on the ALSA sequencer, each message delivered by the kernel when due."""

    def __init__(self, wanted: str, virtual: bool = False, realtime_priority: int = 0):
        """`realtime_priority` is not needed: the kernel times the queue, no thread of jazzd's."""
        self.wanted = wanted
        self.api = "alsa"
        self.on_own_messages = None  # it sends nothing by itself
        self.virtual = virtual
        self.name: str | None = None
        self.lead = LEAD_SECONDS
        self._alsa = None  # the alsa_midi module, loaded on opening (not on the timing path)
        self._client = None
        self._port = None
        self._queue = None
        self._offset = 0.0  # perf_counter minus the queue's time
        self._synced = -RESYNC_SECONDS
        self._last_due = 0.0  # the latest time a queued message is due
        self._last_at = 0.0  # ... and its time on the queue: later ones never go before it
        self._lock = threading.Lock()  # the scheduler sends while the main thread reconnects

    def open(self, names: list[str]) -> str:
        import alsa_midi as alsa

        self._alsa = alsa
        name = self.wanted if self.virtual else match_port(self.wanted, names, "output")
        try:
            client = alsa.SequencerClient(CLIENT_NAME)
        except alsa.ALSAError as exc:
            raise PortNotFound(f"output port {self.wanted!r} could not be opened ({exc})") from exc
        try:
            port = client.create_port(
                name if self.virtual else "out",
                caps=alsa.PortCaps.READ | alsa.PortCaps.SUBS_READ,
                type=alsa.PortType.MIDI_GENERIC | alsa.PortType.APPLICATION,
            )
            queue = client.create_queue(f"{CLIENT_NAME} out")
            timer = queue.get_timer()
            timer.resolution = QUEUE_HZ
            queue.set_timer(timer)
            queue.start()
            client.drain_output()
            if not self.virtual:
                client_id, port_id = name.rsplit(" ", 1)[1].split(":")
                port.connect_to(alsa.Address(int(client_id), int(port_id)))
        except (alsa.ALSAError, ValueError, IndexError) as exc:
            client.close()
            raise PortNotFound(f"output port {self.wanted!r} could not be opened ({exc})") from exc
        with self._lock:  # a new queue: its clock starts again
            self._client, self._port, self._queue, self.name = client, port, queue, name
            self._synced, self._last_at, self._last_due = -RESYNC_SECONDS, 0.0, 0.0
            self._sync()
        return name

    @property
    def is_open(self) -> bool:
        return self._client is not None

    def names(self) -> list[str]:
        """The output ports there are now, listed through this port's own client."""
        client = self._client
        if client is None:
            return []
        ports = client.list_ports(output=True, type=self._alsa.PortType(0), include_no_export=False)
        return [alsa_name(p.client_name, p.name, p.client_id, p.port_id) for p in ports]

    def _sync(self) -> None:
        """The offset of perf_counter from the queue's clock (the kernel reads the queue's time
        as of now): from the reading that took the least time, if it was quick enough."""
        readings = []
        for _ in range(SAMPLES):
            before = time.perf_counter()
            real = self._queue.get_status().real_time
            after = time.perf_counter()
            readings.append((after - before, (before + after) / 2 - (real.seconds + real.nanoseconds * 1e-9)))
        took, offset = min(readings)
        if took <= BRACKET_SECONDS or self._synced < 0:  # the first mapping of a queue is kept anyway
            self._offset = offset
        self._synced = time.perf_counter()

    def send(self, message: mido.Message, due: float | None = None) -> None:
        """Queued for `due` (a perf_counter time), or sent at once (None)."""
        alsa = self._alsa
        with self._lock:
            if self._client is None:
                raise PortLost(f"output port {self.wanted!r} is not open")
            try:
                if due is None:  # direct (alsa-midi buffers it too: drained below)
                    self._client.event_output(alsa.MidiBytesEvent(message.bytes()), port=self._port)
                else:
                    if time.perf_counter() - self._synced > RESYNC_SECONDS:
                        self._sync()
                    at = self._last_at = max(due - self._offset, self._last_at)  # in order, always
                    seconds = int(at)
                    stamp = alsa.RealTime(seconds, int((at - seconds) * 1e9))
                    event = alsa.MidiBytesEvent(message.bytes(), time=stamp)
                    self._client.event_output(event, queue=self._queue, port=self._port)
                    self._last_due = max(self._last_due, due)
                self._client.drain_output()
            except alsa.ALSAError as exc:
                raise PortLost(f"output port {self.name!r} failed: {exc}") from exc

    def drop_pending(self) -> None:
        """Take back every note-on still queued (the clock's ticks and note-offs stay)."""
        alsa = self._alsa
        with self._lock:
            if self._client is None:
                return
            with contextlib.suppress(alsa.ALSAError):  # the port is going: nothing queued will sound
                self._client.remove_events(alsa.RemoveCondition.OUTPUT, event_type=alsa.EventType.NOTEON)

    def close(self) -> None:
        """After what is queued has been delivered (the last note-offs), the client goes."""
        with self._lock:
            client, self._client = self._client, None
            wait = self._last_due - time.perf_counter()
        if client is None:
            return
        if 0 < wait <= 2 * self.lead:
            time.sleep(wait + 0.002)
        client.close()
