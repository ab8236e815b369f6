"""MIDI ports over python-rtmidi, with mido messages: find by name, open, watch, reconnect.

rtmidi is used directly rather than through mido's backend, which turns any port opened with a
client name into a new virtual port (so a JACK port opened by name never connects).

Name matching: an exact name wins; else a case-insensitive substring; several matches are an
error listing them. Listing ports uses one long-lived rtmidi client per direction: creating a
client per listing (as `mido.get_output_names()` does) registers and drops a JACK client each
time, which disturbs the whole graph. No virtual port is created unless asked for.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

import mido

from jazzd.errors import JazzdError
from jazzd.live.outputs import BACKENDS

try:
    import rtmidi
except ImportError as exc:  # python-rtmidi's wheel needs the system's ALSA library
    rtmidi = None
    RTMIDI_PROBLEM = str(exc)

log = logging.getLogger(__name__)

CLIENT_NAME = "jazzd"


class PortError(JazzdError, LookupError):
    """A port name that matches no port, or several."""


class PortNotFound(PortError):
    pass


class AmbiguousPort(PortError):
    pass


class MidiUnavailable(JazzdError, OSError):
    """The MIDI system itself cannot be used (no ALSA sequencer, no JACK server)."""


def client(direction: str, api: str, name: str = CLIENT_NAME, **options):
    """A new rtmidi MidiIn ("in") or MidiOut ("out") on `api`, or one line saying why the MIDI
    system is not there. What ALSA's and JACK's libraries print meanwhile is logged at debug
    level, not left in the user's terminal next to that line."""
    if rtmidi is None:
        raise MidiUnavailable(
            f"cannot load python-rtmidi ({RTMIDI_PROBLEM}): it needs the system's ALSA library; "
            "on Debian or Raspberry Pi OS: sudo apt install libasound2"
        )
    kind = rtmidi.MidiIn if direction == "in" else rtmidi.MidiOut
    with _library_chatter():
        try:
            return kind(getattr(rtmidi, f"API_{BACKENDS[api].rtmidi_api}"), name=name, **options)
        except (rtmidi.SystemError, RuntimeError) as exc:
            raise MidiUnavailable(f"cannot use {api.upper()} MIDI ({exc}): {BACKENDS[api].missing}") from exc


@contextlib.contextmanager
def _library_chatter() -> Iterator[None]:
    """File descriptor 2 goes to a temporary file meanwhile (libjack and libasound write there
    directly, below Python); what they wrote is logged at debug level."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode(errors="replace").splitlines():
                if line.strip():
                    log.debug("MIDI library: %s", line)


class PortLister:
    """Lists port names through one rtmidi client per direction, made when first asked for and
    kept until `close` (a client per listing would make JACK redraw its graph each time). The
    player keeps it only while it waits for a port: on JACK every client is woken every period."""

    def __init__(self, api: str):
        self.api = api
        self._clients: dict[str, object] = {}  # "in" / "out" → rtmidi client

    def _client(self, kind: str):
        if kind not in self._clients:
            self._clients[kind] = client(kind, self.api, f"{CLIENT_NAME}-watch")
        return self._clients[kind]

    def outputs(self) -> list[str]:
        return self._names("out")

    def inputs(self) -> list[str]:
        return self._names("in")

    def _names(self, kind: str) -> list[str]:
        """The ports now. A port that vanishes while rtmidi reads the list (it counts, then
        names each) raises in rtmidi; the list is then read again, the port gone from it."""
        listing = self._client(kind)
        for _ in range(3):
            try:
                return listing.get_ports()
            except rtmidi.RtMidiError as exc:
                log.debug("the port list changed while it was read (%s); reading it again", exc)
        return []

    def close(self) -> None:
        for each in self._clients.values():
            each.delete()
        self._clients.clear()


def match_port(wanted: str, names: list[str], kind: str) -> str:
    """The one port `wanted` names: exact, else a case-insensitive substring."""
    if wanted in names:
        return wanted
    found = [n for n in names if wanted.lower() in n.lower()]
    if len(found) > 1:
        raise AmbiguousPort(
            f"{kind} port {wanted!r} matches several ports: {', '.join(found)}; give more of the name"
        )
    if not found:
        listing = ", ".join(names) if names else "none"
        raise PortNotFound(f"no {kind} port matches {wanted!r} (available: {listing})")
    return found[0]


def connect(port, wanted: str, names: list[str], kind: str, virtual: bool) -> str:
    """Open `port` on the one port `wanted` names (or as a virtual port); deletes it on failure."""
    try:
        if virtual:
            port.open_virtual_port(wanted)
            return wanted
        name = match_port(wanted, names, kind)
        port.open_port(port.get_ports().index(name), name={"output": "out", "input": "in"}[kind])
        return name
    except (ValueError, rtmidi.RtMidiError) as exc:  # gone between listing and opening
        port.delete()
        raise PortNotFound(f"{kind} port {wanted!r} could not be opened ({exc})") from exc
    except PortError:
        port.delete()
        raise


class Output:
    """An output port that may come and go: `send` raises PortLost when it fails."""

    def __init__(self, wanted: str, api: str, virtual: bool = False):
        self.wanted = wanted
        self.api = api
        self.lead = 0.0  # sent when due
        self.drop_pending = self.on_own_messages = None
        self.virtual = virtual
        self.name: str | None = None
        self.lead = 0.0  # rtmidi sends at once: the scheduler hands each message over when due
        self._port = None  # an open rtmidi.MidiOut
        self._lock = threading.Lock()  # the scheduler sends while the main thread reconnects

    def open(self, names: list[str]) -> str:
        port = client("out", self.api)
        name = connect(port, self.wanted, names, "output", self.virtual)
        if BACKENDS[self.api].settle_seconds:  # a connection that is live only later
            time.sleep(BACKENDS[self.api].settle_seconds)
        with self._lock:
            self._port, self.name = port, name
        return name

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def names(self) -> list[str]:
        """The output ports there are now, listed by this port's own client (no other client
        needed while playing). Outside the send lock: only the main thread opens, closes and
        lists, so the timing thread never waits for a listing."""
        port = self._port
        return port.get_ports() if port is not None else []

    def send(self, message: mido.Message, due: float | None = None) -> None:
        """Send now (`due`, the time it was due, is for timestamped outputs)."""
        with self._lock:
            if self._port is None:
                raise PortLost(f"output port {self.wanted!r} is not open")
            try:
                self._port.send_message(message.bytes())
            except Exception as exc:
                raise PortLost(f"output port {self.name!r} failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            port, self._port = self._port, None
        if port is not None:
            if BACKENDS[self.api].drain_seconds:  # the last messages go out first
                time.sleep(BACKENDS[self.api].drain_seconds)
            port.close_port()
            port.delete()


class PortLost(JazzdError, ConnectionError):
    """A send failed or the port vanished: reconnect."""
