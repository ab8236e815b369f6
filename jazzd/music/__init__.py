"""What a solo is, with no model and no MIDI ports: chord symbols and progressions, the token
grammar, the vocabulary, and the corpus readers (MIDI files, Weimar Jazz Database CSV)."""
