"""File formats: DfuSe .dfu files, DFU suffixes, HEX/S-record/ELF/BIN images (layer: formats).

May import ``pydfuse.spec`` and ``pydfuse.errors`` only.
"""

from pydfuse.formats.image import Image, Segment

__all__ = ["Image", "Segment"]
