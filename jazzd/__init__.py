"""jazzd: an LSTM that improvises jazz lines over the chords you play, on a MIDI synth."""

__version__ = "0.1.0"
