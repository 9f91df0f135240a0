"""Erase/write plans: image + memory map -> Plan (layer: plan; pure data, no I/O)."""
