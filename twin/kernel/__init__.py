"""The simulation kernel: time, randomness, messages and record buffers.

Everything a layer needs from the outside world comes through a :class:`Sim`, passed
explicitly — there is no global state, so two runs in one process never touch each other.
The names below are imported on first use: a module that needs one submodule (the process
drawing traffic ahead needs the calendar and the compiled loops) does not load the others'
libraries (Arrow, SimPy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin.kernel.lazy import lazy_names

if TYPE_CHECKING:
    from twin.kernel.bus import MessageBus
    from twin.kernel.calendar import Calendar
    from twin.kernel.records import Labels, RecordBuffer, RecordStore, labels, required
    from twin.kernel.rng import RandomStreams
    from twin.kernel.sim import Sim

_LAZY = {
    "MessageBus": "twin.kernel.bus", "Calendar": "twin.kernel.calendar",
    "Labels": "twin.kernel.records", "RecordBuffer": "twin.kernel.records",
    "RecordStore": "twin.kernel.records", "labels": "twin.kernel.records",
    "required": "twin.kernel.records", "RandomStreams": "twin.kernel.rng",
    "Sim": "twin.kernel.sim",
}

__getattr__ = lazy_names(globals(), _LAZY)

__all__ = [
    "Calendar", "Labels", "MessageBus", "RandomStreams", "RecordBuffer", "RecordStore", "Sim",
    "labels", "required",
]
