"""Port listing: a port that vanishes while rtmidi reads the list (JACK: it counts the ports,
then names each) must not take the player down — seen when the synth and the keyboard were
unplugged together."""

import rtmidi

from jazzd.live.ports import PortLister


class Vanishing:
    """An rtmidi client whose list loses a port while it is read, `fails` times."""

    def __init__(self, fails: int):
        self.fails = fails

    def get_ports(self) -> list[str]:
        if self.fails:
            self.fails -= 1
            raise rtmidi.InvalidPortError("MidiOutJack::getPortName: no ports available!")
        return ["system:midi_playback_1"]


def test_a_port_list_that_changes_while_read_is_read_again():
    lister = PortLister("jack")
    lister._clients = {"out": Vanishing(fails=2), "in": Vanishing(fails=5)}
    assert lister.outputs() == ["system:midi_playback_1"]
    assert lister.inputs() == []  # still changing after three reads: nothing this time, no error
