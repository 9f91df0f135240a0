"""Pre-flight checks of application images: vector table and placement (layer: checks; pure)."""
