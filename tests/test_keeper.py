"""The port keeper over fake ports and a fake port list: waiting for a port with one line per
reason, reconnecting a lost output (silence first), reopening an input that comes back."""

import logging

from jazzd.live import keeper
from jazzd.live.keeper import PortKeeper
from jazzd.live.ports import MidiUnavailable, PortNotFound


class Listing:
    """A PortLister whose ports are set by the test; `down` makes the MIDI system missing."""

    def __init__(self):
        self.outs, self.ins, self.down, self.closed = [], [], False, 0

    def outputs(self):
        if self.down:
            raise MidiUnavailable("cannot use JACK MIDI (no server)")
        return list(self.outs)

    def inputs(self):
        return list(self.ins)

    def close(self):
        self.closed += 1


class FakePort:
    """An output or input that opens when its name is listed."""

    def __init__(self, wanted):
        self.wanted, self.name, self.lost, self.listing = wanted, None, False, None

    @property
    def is_open(self):
        return self.name is not None

    def open(self, names):
        if self.wanted not in names:
            raise PortNotFound(f"no port {self.wanted!r}")
        self.name = self.wanted
        return self.name

    def names(self):
        return self.listing.outs

    def close(self):
        self.name = None


def keeper_over(listing, monkeypatch, output, input=None, waits=None):
    monkeypatch.setattr(keeper, "PortLister", lambda api: listing)
    output.listing = listing
    calls = []

    def wait(seconds):  # each wait, the test's next change to the ports happens
        calls.append(seconds)
        if waits:
            waits.pop(0)()
        return not waits and len(calls) > 10  # the performance ends if nothing more comes

    return PortKeeper(output, input, "jack", wait), calls


def test_a_port_that_appears_later_is_waited_for_with_one_line(monkeypatch, caplog):
    listing, synth = Listing(), FakePort("synth")
    steps = [lambda: None, lambda: None, lambda: listing.outs.append("synth")]
    kept, calls = keeper_over(listing, monkeypatch, synth, waits=steps)
    caplog.set_level(logging.INFO)
    assert kept.open_all(lambda: None) and synth.is_open
    assert len(calls) == 3 and caplog.text.count("waiting: no port 'synth'") == 1
    assert "output port: synth" in caplog.text


def test_a_missing_midi_system_at_start_is_an_error_but_waited_for_on_reconnect(monkeypatch):
    listing, synth = Listing(), FakePort("synth")
    listing.down = True
    kept, _ = keeper_over(listing, monkeypatch, synth)
    try:
        kept.open(synth, "output")
        raise AssertionError("a missing MIDI system at start must be one error, not a wait")
    except MidiUnavailable:
        pass
    steps = [lambda: None, lambda: setattr(listing, "down", False) or listing.outs.append("synth")]
    kept, _ = keeper_over(listing, monkeypatch, synth, waits=steps)
    assert kept.open(synth, "output", server_may_return=True) and synth.is_open


def test_a_lost_output_is_silenced_then_reconnected(monkeypatch, caplog):
    listing, synth = Listing(), FakePort("synth")
    listing.outs = ["synth"]
    kept, _ = keeper_over(listing, monkeypatch, synth)
    assert kept.open_all(lambda: None)
    listing.outs = []
    kept.watch(lambda: None)
    assert kept.output_lost.is_set()
    order = []
    steps = [lambda: listing.outs.append("synth")]
    kept, _ = keeper_over(listing, monkeypatch, synth, waits=steps)
    kept.output_lost.set()
    caplog.set_level(logging.INFO)
    kept.reconnect_output(lambda: order.append("silence"), lambda: order.append("opened"))
    assert order == ["silence", "opened"] and synth.is_open and not kept.output_lost.is_set()
    assert "output port back; playing on" in caplog.text


def test_an_input_that_vanishes_is_closed_and_reopened_when_back(monkeypatch):
    listing, synth, keys = Listing(), FakePort("synth"), FakePort("keys")
    listing.outs, listing.ins = ["synth"], ["keys"]
    kept, _ = keeper_over(listing, monkeypatch, synth, keys)
    assert kept.open_all(lambda: None) and keys.is_open
    keys.lost, listing.ins, lost = True, [], []
    kept.watch(lambda: lost.append(True))
    assert lost and not keys.is_open
    keys.lost, listing.ins = False, ["keys"]
    kept.watch(lambda: lost.append(True))
    assert keys.is_open and len(lost) == 1
