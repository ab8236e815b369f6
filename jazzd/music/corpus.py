"""A corpus: files, folders and glob patterns of solos, each read by its reader (wjazzd.py for
the Weimar Jazz Database's CSV, midifile.py for MIDI) into a `Solo`; bad files skipped with one
line each (or, strict, the first one stops); and the summary `jazzd corpus inspect` prints.

Both readers quantize to the 1/4 + 1/3 beat grid and normalize the melody to one monophonic
line (`solo.normalize_line`), so the grammar encodes it without loss and the round trip is exact.
"""

from __future__ import annotations

import glob
import logging
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from jazzd.errors import CorpusError
from jazzd.music.grammar import TOKEN_TYPES, encode, realize
from jazzd.music.midifile import MidiSelection, read_midi
from jazzd.music.solo import Solo
from jazzd.music.wjazzd import read_wjazzd

log = logging.getLogger(__name__)

GUESSED = MidiSelection()  # no track named: the melody and chord tracks are guessed

MIDI_SUFFIXES = (".mid", ".midi", ".smf")


def corpus_files(specs: Iterable[str]) -> list[Path]:
    """Files named by paths, folders (WJazzD folders read their mcsv_melody) or glob patterns."""
    files: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            melody_dir = path / "mcsv_melody"
            base = melody_dir if melody_dir.is_dir() else path
            found = sorted(
                p
                for p in base.rglob("*")
                if p.suffix.lower() in MIDI_SUFFIXES
                or (p.suffix.lower() == ".csv" and not p.stem.endswith("_beattrack"))
            )
        elif any(c in spec for c in "*?["):
            found = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        else:
            found = [path]
        if not found:
            raise CorpusError(f"{spec}: no corpus files found")
        files.extend(found)
    return files


def read_solo(path: Path, selection: MidiSelection = GUESSED) -> Solo:
    """Read one file by its kind (`.csv` WJazzD, else MIDI)."""
    if not path.is_file():
        raise CorpusError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        return read_wjazzd(path)
    return read_midi(path, selection)


def read_corpus(
    specs: Iterable[str], selection: MidiSelection = GUESSED, strict: bool = False
) -> tuple[list[Solo], list[dict[str, str]]]:
    """Every readable solo, and {path, reason} for each file skipped (fatal with `strict`)."""
    solos, skipped = [], []
    files = corpus_files(specs)
    for path in files:
        try:
            solos.append(read_solo(path, selection))
        except CorpusError as exc:
            if strict:
                raise
            if len(files) > 1:
                log.warning("skipped %s", exc)
            skipped.append({"path": str(path), "reason": str(exc)})
    if not solos:
        raise CorpusError(
            skipped[0]["reason"]
            if len(skipped) == 1
            else f"none of the {len(skipped)} corpus files could be read (first: {skipped[0]['reason']})"
        )
    return solos, skipped


ROUNDTRIP_REGISTER = (21, 108)  # the piano's range: wide enough that no window is clipped


def summarize(solos: Sequence[Solo], skipped: Sequence[dict[str, str]], seed: int = 0) -> dict:
    """Counts, token types, vocabulary size and the encode → realize round trip of a corpus.

    `rhythm_exact` and `type_preserved` are the shares of notes whose onset + duration, and
    whose type over the solo's own chords, come back unchanged after realizing the tokens.
    """
    rng = random.Random(seed)
    types = Counter({t: 0 for t in TOKEN_TYPES})
    counts: Counter[str] = Counter()
    notes = exact = preserved = dropped = 0
    for solo in solos:
        tokens = encode(solo.notes, solo.chord_at)
        counts.update(t.text for t in tokens)
        types.update(t.type for t in tokens)
        back = realize(tokens, solo.chord_at, solo.notes[0].onset, ROUNDTRIP_REGISTER, rng)
        for original, again in zip(solo.notes, back, strict=True):
            exact += (original.onset, original.duration) == (again.onset, again.duration)
            chord = solo.chord_at(original.onset)
            preserved += chord.note_type(original.pitch) == chord.note_type(again.pitch)
        notes += len(solo.notes)
        dropped += solo.dropped
    return {
        "solos": len(solos),
        "notes": notes,
        "dropped_in_quantization": dropped,
        "chords_inferred": sum(s.chords_inferred for s in solos),
        "tokens": sum(counts.values()),
        "vocab_size": len(counts),
        "types": dict(types),
        "skipped": list(skipped),
        "roundtrip": {
            "rhythm_exact": exact / notes if notes else 0.0,
            "type_preserved": preserved / notes if notes else 0.0,
        },
    }
