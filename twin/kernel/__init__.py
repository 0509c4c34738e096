"""The simulation kernel: time, randomness, messages and record buffers.

Everything a layer needs from the outside world comes through a :class:`Sim`, passed
explicitly — there is no global state, so two runs in one process never touch each other.
"""

from twin.kernel.bus import MessageBus
from twin.kernel.calendar import Calendar
from twin.kernel.records import Labels, RecordBuffer, RecordStore, labels, required
from twin.kernel.rng import RandomStreams
from twin.kernel.sim import Sim

__all__ = [
    "Calendar", "Labels", "MessageBus", "RandomStreams", "RecordBuffer", "RecordStore", "Sim",
    "labels", "required",
]
