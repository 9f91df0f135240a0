"""pydfuse: STM32 / USB DFU firmware updates made simple, safe and fast.

Layers (imports point downward only): cli -> ops -> host -> plan/checks -> layout -> formats ->
spec/errors. The simulator (``pydfuse.sim``) imports only ``pydfuse.spec``.
"""

__version__ = "0.1.0.dev0"
