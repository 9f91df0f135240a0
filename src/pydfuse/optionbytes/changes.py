"""``FIELD=VALUE`` requests to a new option-byte block, with the before/after of every field
(layer: optionbytes; imports its siblings, ``pydfuse.layout`` and ``pydfuse.errors``).

Values are read the way the manuals name them: ``rdp=0|1|2`` (levels) or a raw ``0x..`` byte,
``bor=off``, ``wdg_sw=software``, ``wrp=0-3,7`` / ``wrp=none`` / ``wrp=all`` (units of the
family: sectors, 4 KB blocks or pages). Anything else is refused with the accepted words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydfuse.errors import OptionBytesError
from pydfuse.layout import MemoryMap
from pydfuse.optionbytes.codec import Decoded, decode, encode, with_fields
from pydfuse.optionbytes.model import Family, Field
from pydfuse.optionbytes.wrp import WrpMode, protected, runs, unit_count, wrp_fields, wrp_mode

__all__ = [
    "FieldChange",
    "OptionRequestError",
    "apply_assignments",
    "diff",
    "mode_bit_problems",
    "parse_assignments",
    "parse_units",
    "permanent_pcrop",
    "units_text",
]

_F4_SPRMOD_CHIPS = "F401/F411/F412/F446/F42x/F43x"
_SPRMOD_UNKNOWN = (
    "bit 15 of the nWRP half-word (SPRMOD) reads 1: on an STM32F405/407/415/417 that bit is "
    "not used and the nWRP bits are write protection, but on an "
    + _F4_SPRMOD_CHIPS
    + " it means PCROP mode, where the same bits, active high, make their sectors "
    "execute-only (RM0090 Rev 21 Table 17, §3.7.5; there wrp=none would put every sector "
    "under PCROP). Over DFU the two cannot be told apart, so the nWRP bits were not changed"
)
_PCROP_MODE = (
    "this chip is in PCROP mode (SPRMOD = 1): its nWRP bits select PCROP (execute-only) "
    "sectors, not write protection, and pydfuse does not change them: the chip only removes a "
    "PCROP sector together with RDP going from level 1 to 0 (RM0090 §3.7.5), and an added one "
    "stays execute-only until then"
)
_NO_SPRMOD_SWITCH = (
    "pydfuse does not switch SPRMOD: 0 -> 1 turns every sector whose nWRP bit reads 1 into an "
    "execute-only (PCROP) sector, and 1 -> 0 is only accepted by the chip together with RDP "
    "going from level 1 to 0 (RM0090 Rev 21 §3.7.5)"
)


class OptionRequestError(OptionBytesError):
    """A ``FIELD=VALUE`` request that cannot be read: malformed, a field the chip does not
    have, a value the field does not take (a usage error, not a safety refusal)."""


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field whose value a write changes."""

    name: str
    before: str
    after: str
    meaning: str


def parse_assignments(texts: Sequence[str]) -> list[tuple[str, str]]:
    """``["rdp=1", "bor=off"]`` -> ``[("rdp", "1"), ("bor", "off")]`` (one line errors)."""
    out: list[tuple[str, str]] = []
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise OptionRequestError(
                f"{text!r} is not FIELD=VALUE", hint="for example: rdp=1 wrp=0-3 bor=off"
            )
        key = name.strip().lower()
        if any(k == key for k, _ in out):
            raise OptionRequestError(f"{key} is given twice")
        out.append((key, value.strip()))
    if not out:
        raise OptionRequestError("no FIELD=VALUE given", hint="for example: rdp=1 wrp=0-3")
    return out


def parse_units(text: str, count: int) -> list[int]:
    """``"0-3,7"`` -> [0, 1, 2, 3, 7]; ``none`` -> []; ``all`` -> every unit."""
    word = text.strip().lower()
    if word == "none":
        return []
    if word == "all":
        return list(range(count))
    units: list[int] = []
    for part in word.split(","):
        lo, dash, hi = part.strip().partition("-")
        try:
            first = int(lo, 0)
            last = int(hi, 0) if dash else first
        except ValueError:
            raise OptionRequestError(
                f"{text!r} is not a list of units", hint="write e.g. 0-3,7 or none or all"
            ) from None
        if last < first:
            raise OptionRequestError(f"{part.strip()!r}: the range runs backwards")
        units.extend(range(first, last + 1))
    return units


def _field_value(family: Family, f: Field, text: str) -> int:
    word = text.strip().lower()
    if f.kind == "rdp":
        levels = {"0": family.rdp_level0, "1": family.rdp_level1}
        if family.rdp_level2 is not None:
            levels["2"] = family.rdp_level2
        if word in levels:
            return levels[word]
        if word == "2":
            raise OptionRequestError(f"{family.title} has no read-protection level 2")
    if f.kind in ("enum", "flag"):
        for value, name in f.names.items():
            if name.lower() == word:
                return value
        if f.kind == "flag" and word in ("0", "1"):
            return int(word)
        if f.kind == "enum":
            words = ", ".join(f.names.values())
            raise OptionRequestError(
                f"{f.name} takes one of: {words}", hint=f"{f.name}: {f.meaning}"
            )
    try:
        value = int(word, 0)
    except ValueError:
        accepted = ", ".join([*f.names.values(), "0", "1"] if f.kind == "flag" else ["a number"])
        raise OptionRequestError(f"{f.name}={text!r}: expected {accepted}") from None
    if not 0 <= value <= f.mask:
        raise OptionRequestError(f"{f.name}={text!r} does not fit in {f.width} bits")
    return value


def _field(family: Family, name: str) -> Field:
    try:
        return family.field(name)
    except KeyError:
        known = ", ".join(["wrp", *(f.name for f in family.fields)])
        raise OptionRequestError(
            f"{family.title} has no option field {name!r}; its fields: {known}",
            hint="`dfuse option-bytes` shows each field with its meaning",
        ) from None


def _check_wrp_request(decoded: Decoded, name: str, declared: str | None) -> None:
    """Refuse a change of the write-protection bits where they may mean PCROP (F2/F4 SPRMOD:
    reading 1 without ``--wrp-mode``, or PCROP mode) and any change of the mode bit itself."""
    scheme = decoded.family.wrp
    if scheme.mode_field is None:
        return
    if name != "wrp":
        field = _field(decoded.family, name).name
        if field == scheme.mode_field:
            raise OptionBytesError(
                _NO_SPRMOD_SWITCH, hint="`dfuse ob` shows the mode the nWRP bits are in"
            )
        if field not in scheme.fields:
            return
    mode = wrp_mode(decoded, declared)
    if mode is None:
        raise OptionBytesError(
            _SPRMOD_UNKNOWN,
            hint="if this chip is an F405/407/415/417, say so: --wrp-mode write-protection "
            "(`dfuse ob` shows the bits read both ways)",
        )
    if mode == "pcrop":
        raise OptionBytesError(
            _PCROP_MODE,
            hint="rdp=1, then `dfuse unprotect --force` (it mass-erases the flash) puts the option "
            "bytes back to their factory values, SPRMOD 0 included (AN3156 Table 4)",
        )


def apply_assignments(
    decoded: Decoded,
    assignments: Sequence[tuple[str, str]],
    flash: MemoryMap | None,
    *,
    wrp_mode: str | None = None,
) -> bytes:
    """The block of ``decoded`` with the assignments applied (complements kept consistent).

    F0/F1 chips write each complement themselves from the value byte (RM0091 §3.2.2): every
    byte is written as the value the chip loads now, with its complement, so that fields the
    user did not name keep what they are (a mismatching pair loads 0xFF and stays 0xFF).
    ``wrp_mode`` ("write-protection" or "pcrop"): what the user says the write-protection bits
    mean where the block cannot tell (F2/F4 SPRMOD reading 1); the mode bit is never changed."""
    family = decoded.family
    if family.storage == "byte-pairs":
        decoded = decode(family, encode(family, decoded.raw, decoded.register_values()))
    changes: dict[str, int] = {}
    for name, text in assignments:
        _check_wrp_request(decoded, name, wrp_mode)
        if name == "wrp":
            if flash is None:
                raise OptionBytesError(
                    "wrp= needs the device's flash layout to know its units",
                    hint="set the raw fields instead: " + ", ".join(family.wrp.fields),
                )
            units = parse_units(text, unit_count(family, flash))
            try:
                changes.update(wrp_fields(decoded, units, flash))
            except ValueError as error:
                raise OptionRequestError(str(error)) from None
            continue
        f = _field(family, name)
        changes[f.name] = _field_value(family, f, text)
    return with_fields(decoded, changes)


def diff(
    before: Decoded,
    after_raw: bytes,
    flash: MemoryMap | None,
    mode: WrpMode | None = "write-protection",
) -> list[FieldChange]:
    """Every field (and the write protection in units, read as ``mode``; left out when the
    mode is not known) that differs between two blocks."""
    after = decode(before.family, after_raw)
    out = [
        FieldChange(a.field.name, b.text, a.text, a.field.meaning)
        for b, a in zip(before.fields, after.fields, strict=True)
        if a.value != b.value
    ]
    if flash is not None and mode is not None:
        old, new = protected(before, flash, mode), protected(after, flash, mode)
        if old.units != new.units:
            out.append(
                FieldChange(
                    "wrp", units_text(old.units), units_text(new.units), f"{old.unit}s protected"
                )
            )
    return out


def units_text(units: Sequence[int]) -> str:
    """[0, 1, 2, 3, 7] -> ``0-3,7``; [] -> ``none``."""
    if not units:
        return "none"
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs(list(units)))


PCROP_FIELDS = ("pcrop1_strt", "pcrop1_end", "pcrop_rdp")


def permanent_pcrop(before: Decoded, after_raw: bytes) -> str | None:
    """Why writing ``after_raw`` would make a PCROP area permanent, or None.

    RM0440 (PCROP): a PCROP area can only grow; it is removed only when RDP goes from level 1
    to 0 *and* PCROP_RDP is set; with PCROP_RDP cleared (the factory value) the regression
    erases every other page and keeps the area and its options. A new or changed area with
    PCROP_RDP cleared is therefore execute-only for good: never read, erased or programmed."""
    family = before.family
    if any(name not in {f.name for f in family.fields} for name in PCROP_FIELDS):
        return None
    after = decode(family, after_raw)
    area = (after.value("pcrop1_strt"), after.value("pcrop1_end"))
    old = (before.value("pcrop1_strt"), before.value("pcrop1_end"))
    if area[0] > area[1] or area == old or after.value("pcrop_rdp") == 1:
        return None
    return (
        f"a PCROP area (double-words 0x{area[0]:X}-0x{area[1]:X}) with pcrop_rdp=keep can never "
        "be removed: its pages stay execute-only, never read, erased or programmed again, even "
        "by Read Unprotect (RM0440, PCROP)"
    )


def mode_bit_problems(before: Decoded, after_raw: bytes) -> list[str]:
    """Why writing ``after_raw`` over ``before`` may change PCROP (F2/F4 SPRMOD), for a file
    that holds option bytes: the mode bit switched, or the nWRP bits changed while SPRMOD reads
    1 (write protection on an F405/407/415/417, PCROP sectors in PCROP mode)."""
    scheme = before.family.wrp
    if scheme.mode_field is None:
        return []
    after = decode(before.family, after_raw)
    was, now = before.value(scheme.mode_field), after.value(scheme.mode_field)
    if was == 0 and now == 1:
        return [
            "the file switches SPRMOD from 0 to 1: on an "
            + _F4_SPRMOD_CHIPS
            + " that is PCROP mode, where every sector whose nWRP bit is 1 becomes execute-only "
            "until RDP goes from level 1 to 0 (RM0090 §3.7.5)"
        ]
    if was == 1 and now == 0:
        return [
            "the file switches SPRMOD from 1 to 0: a chip in PCROP mode refuses that unless RDP "
            "goes from level 1 to 0 at the same time (RM0090 §3.7.5)"
        ]
    bits = [name for name in scheme.fields if before.value(name) != after.value(name)]
    if was == 1 and bits:
        return [
            "the file changes the nWRP bits while SPRMOD reads 1: write protection on an "
            "F405/407/415/417, but execute-only (PCROP) sectors on an "
            + _F4_SPRMOD_CHIPS
            + " in PCROP mode; pydfuse cannot tell which"
        ]
    return []
