"""How a line is played: swing and accents by metric position, the same live and in a render."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Feel:
    """Swing ratio (0.5 straight, 0.667 triplet swing) and velocities by metric position."""

    swing: float = 0.5
    velocity_downbeat: int = 100  # beats 1 and 3
    velocity_beat: int = 90  # beats 2 and 4
    velocity_offbeat: int = 76

    def place(self, beat: float) -> float:
        """Where a straight position sounds with swing: the off-beat eighth moves to `swing`."""
        whole = math.floor(beat)
        f = beat - whole
        if self.swing == 0.5:
            return beat
        shaped = f * self.swing / 0.5 if f < 0.5 else self.swing + (f - 0.5) * (1 - self.swing) / 0.5
        return whole + shaped

    def velocity(self, beat: float) -> int:
        if abs(beat - round(beat)) > 1e-9:
            return self.velocity_offbeat
        return self.velocity_downbeat if round(beat) % 2 == 0 else self.velocity_beat
