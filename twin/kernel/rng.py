"""Named, independent random streams derived from one root seed.

Each component asks for its stream by name ("faults", "traffic.voice", "oss.workforce" …).
A stream's draws depend only on the root seed and its name, never on which other streams
exist or how much they were used. That is what gives common random numbers: a run with two
crews and a run with three see the same faults and the same subscriber demand, so the
difference between them is the design, not the dice.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


class RandomStreams:
    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def stream(self, name: str) -> np.random.Generator:
        """The generator for ``name``; the same object on every call within a run."""
        gen = self._streams.get(name)
        if gen is None:
            gen = self.fresh(name)
            self._streams[name] = gen
        return gen

    def fresh(self, name: str) -> np.random.Generator:
        """A new generator for ``name``, positioned at its start (not cached)."""
        seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(_key(name),))
        return np.random.Generator(np.random.PCG64(seq))
