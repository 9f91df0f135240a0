"""A virtual STM32 DfuSe bootloader that plugs in under pyusb as a backend (layer: sim).

Imports only ``pydfuse.spec`` from pydfuse (and pyusb in the backend adapter), never host,
formats, layout or plan logic, so a host bug cannot be hidden by the same bug here.

Typical use::

    board = VirtualBoard("stm3210e-eval")
    dev = usb.core.find(backend=get_backend(board))
    ...                                   # talk DFU through pyusb, sleep on board.clock
    board.running, board.vector_table     # what runs now

Modules: profiles (data), clock, usbdev (descriptors + chapter 9), descriptors, dfu_table
(§1.6 as data), bootloader (DFU/DfuSe state machine), flash (memory rules and timing), board
(pins, boot, leave, run-time mode), backend (pyusb IBackend), faults, stats, state (save/load).
"""

from __future__ import annotations

from pydfuse.sim.backend import SimBackend, get_backend
from pydfuse.sim.board import VirtualBoard
from pydfuse.sim.clock import RealTimeClock, VirtualClock
from pydfuse.sim.profiles import PROFILES, BoardProfile, get_profile

__all__ = [
    "PROFILES",
    "BoardProfile",
    "RealTimeClock",
    "SimBackend",
    "VirtualBoard",
    "VirtualClock",
    "get_backend",
    "get_profile",
]
