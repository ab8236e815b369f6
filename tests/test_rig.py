"""The rig's note counting, on raw bytes: what the tests and benches judge "nothing hangs" by."""

from jazzd.measure.rig import NoteBalance, hanging

ON, OFF, ALL_OFF = [0x90, 60, 100], [0x80, 60, 0], [0xB0, 123, 0]


def test_balance_counts_each_note_on_against_its_own_note_off():
    balance = NoteBalance()
    for data in (ON, [0x90, 62, 90], [0x90, 60, 0], ALL_OFF):  # velocity 0 is a note-off
        balance.add(data)
    assert balance.unbalanced() == {62: 1} and balance.ons == 2 and balance.messages == 4
    balance.add([0x80, 62, 64])
    balance.add(OFF)
    assert balance.unbalanced() == {60: -1}  # a note-off too many shows as well


def test_hanging_lets_all_notes_off_end_its_channel_only():
    assert hanging([ON, ALL_OFF]) == set()
    assert hanging([ON, [0xB1, 123, 0]]) == {60}
    assert hanging([ON, OFF, ON]) == {60}
