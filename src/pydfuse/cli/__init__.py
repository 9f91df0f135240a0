"""The ``dfuse`` command line (layer: cli). Thin click commands over ``pydfuse.ops`` and the
pure layers; ``main.main`` is the single error boundary. rich is imported only inside this package.
"""
