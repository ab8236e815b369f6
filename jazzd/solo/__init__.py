"""The soloist: model files, the engine that steps the LSTM, the soloist that turns its tokens
into pitches over the chords (with its motif memory), the feel, and offline rendering."""
