"""DfuSe memory-layout strings <-> typed memory maps (layer: layout; imports formats, spec, errors)."""
