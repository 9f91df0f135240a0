"""Helpers shared by the test layers: virtual-board rigs, sample images, raw DFU requests."""
