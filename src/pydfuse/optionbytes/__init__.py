"""STM32 option bytes as data: family tables, decode/encode, write protection, requests
(layer: optionbytes, beside plan/checks; imports ``pydfuse.layout`` and ``pydfuse.errors``).

No device I/O: ``pydfuse.ops.optionbytes`` reads and writes the blocks; this package names
their fields, keeps complements consistent and says which flash the write protection covers.
"""

from __future__ import annotations

from pydfuse.optionbytes.changes import (
    FieldChange,
    OptionRequestError,
    apply_assignments,
    diff,
    mode_bit_problems,
    parse_assignments,
    parse_units,
    permanent_pcrop,
    units_text,
)
from pydfuse.optionbytes.codec import (
    Decoded,
    FieldValue,
    RegisterValue,
    decode,
    encode,
    held_after_write,
    rdp_candidates,
)
from pydfuse.optionbytes.detect import candidates, choose_family
from pydfuse.optionbytes.families import FAMILIES, get_family
from pydfuse.optionbytes.model import Family, Field, Register, WrpScheme
from pydfuse.optionbytes.wrp import (
    WRP_MODES,
    Protected,
    WrpMode,
    protected,
    unit_count,
    unit_span,
    wrp_mode,
)

__all__ = [
    "FAMILIES",
    "WRP_MODES",
    "Decoded",
    "Family",
    "Field",
    "FieldChange",
    "FieldValue",
    "OptionRequestError",
    "Protected",
    "Register",
    "RegisterValue",
    "WrpMode",
    "WrpScheme",
    "apply_assignments",
    "candidates",
    "choose_family",
    "decode",
    "diff",
    "encode",
    "get_family",
    "held_after_write",
    "mode_bit_problems",
    "parse_assignments",
    "parse_units",
    "permanent_pcrop",
    "protected",
    "rdp_candidates",
    "unit_count",
    "unit_span",
    "units_text",
    "wrp_mode",
]
