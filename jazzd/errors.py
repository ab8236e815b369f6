"""Error classes: one domain base, each also a builtin so callers can catch either."""


class JazzdError(Exception):
    """Anything jazzd reports to the user as one line and a non-zero exit."""

    exit_code = 1


class ChordError(JazzdError, ValueError):
    """A chord symbol or a progression that cannot be read."""


class CorpusError(JazzdError, ValueError):
    """A corpus file (MIDI or CSV) that cannot be read; the message names the file."""


class ModelError(JazzdError, ValueError):
    """A model file or sidecar that is missing, corrupt or does not match."""


class MissingExtraError(JazzdError, ImportError):
    """A command needs an optional dependency group that is not installed."""
