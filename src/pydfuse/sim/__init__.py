"""A virtual STM32 DfuSe bootloader that plugs in under pyusb as a backend (layer: sim).

Imports only ``pydfuse.spec`` from pydfuse (and pyusb in the backend adapter), never host,
formats, layout or plan logic, so a host bug cannot be hidden by the same bug here.
"""
