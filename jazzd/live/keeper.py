"""The ports over a performance: waiting for them to appear (one log line), reconnecting a lost
output, reopening an input that comes back, and watching both once a second.

While it waits it calls the player's own `wait`, which feeds the watchdog and says when a signal
asks the performance to end. Port names are listed through a `PortLister` only while a port is
missing: on JACK every client is woken every period.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from jazzd.live.inport import Input
from jazzd.live.outputs import MidiOutput
from jazzd.live.ports import MidiUnavailable, PortLister, PortNotFound
from jazzd.live.service import notify

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.5  # how often a missing port is looked for


class PortKeeper:
    """`wait(seconds)` sleeps and returns True once the performance must end."""

    def __init__(
        self,
        output: MidiOutput,
        input: Input | None,
        api: str,
        wait: Callable[[float], bool],
    ):
        self.output = output
        self.input = input
        self.wait = wait
        self.lister = PortLister(api)
        self.output_lost = threading.Event()  # set by a failed send or by `watch`: reconnect

    def open(self, port: MidiOutput | Input, what: str, server_may_return: bool = False) -> bool:
        """Open a port, waiting for it to appear — and, with `server_may_return` (it was there
        when jazzd started: the JACK server restarted), for the MIDI system itself; one line for
        each reason waited for. False if the performance ended first."""
        if port.is_open:  # kept open across a reload
            log.info("%s port: %s (kept open)", what, port.name)
            return True
        names_of = self.lister.inputs if what == "input" else self.lister.outputs
        waiting_for: type | None = None
        while True:
            try:
                log.info("%s port: %s", what, port.open(names_of()))
                return True
            except (PortNotFound, MidiUnavailable) as exc:
                if isinstance(exc, MidiUnavailable):
                    if not server_may_return:
                        raise
                    self.lister.close()  # its clients died with the server: new ones next time
                if type(exc) is not waiting_for:
                    log.warning("waiting: %s", exc)
                    notify(f"STATUS=waiting for {what} port {port.wanted!r}")
                    waiting_for = type(exc)
            if self.wait(RETRY_SECONDS):
                return False

    def open_all(self, on_output: Callable[[], None]) -> bool:
        """The output (then `on_output`), then the input; False if the performance ended first."""
        if not self.open(self.output, "output"):
            return False
        on_output()
        if self.input is not None and not self.open(self.input, "input"):
            return False
        self.lister.close()  # the open ports watch themselves
        return True

    def reconnect_output(self, silence: Callable[[], None], on_output: Callable[[], None]) -> None:
        """After `silence` (what sounded there is ended where it can be), wait for the output to
        come back, then `on_output` and play on."""
        silence()
        self.output.close()
        if self.open(self.output, "output", server_may_return=True):
            self.lister.close()
            on_output()
            self.output_lost.clear()
            log.info("output port back; playing on")

    def watch(self, on_input_lost: Callable[[], None]) -> None:
        """A vanished output is marked lost; a vanished input is closed (`on_input_lost`: its
        note-offs will never come) and reopened when it is back."""
        if self.output.name not in self.output.names():
            log.warning("output port %r vanished; reconnecting", self.output.name)
            self.output_lost.set()
        if self.input is None:
            return
        if self.input.lost:
            log.warning("input port %r vanished; waiting for it", self.input.name)
            self.input.close()
            on_input_lost()
        if not self.input.is_open:
            with contextlib.suppress(PortNotFound, MidiUnavailable):
                log.info("input port back: %s", self.input.open(self.lister.inputs()))
                self.lister.close()
