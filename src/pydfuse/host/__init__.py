"""Talking DFU 1.1 and ST DfuSe to devices through pyusb (layer: host).

May import ``pydfuse.plan``, ``pydfuse.checks``, ``pydfuse.layout``, ``pydfuse.formats``,
``pydfuse.spec`` and ``pydfuse.errors``. ``host/usb.py`` is the only module importing pyusb.
"""
