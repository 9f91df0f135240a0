"""DFU functional descriptor parsing and DfuSe / mode detection, from bytes (layer: host).

Pure: no I/O. Imports ``pydfuse.spec`` only. Section numbers refer to dfuse-spec.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydfuse.spec import (
    DFU_FUNCTIONAL_DESCRIPTOR_TYPE,
    DFU_INTERFACE_CLASS,
    DFU_INTERFACE_SUBCLASS,
    DFU_PROTOCOL_DFU_MODE,
    DFU_PROTOCOL_RUNTIME,
    DFU_VERSION_1_0,
    DFU_VERSION_1_1,
    DFU_VERSION_DFUSE,
    Attributes,
)

# §7.4: devices whose descriptor lies about the DFU version; dfu-util forces 1.1 for these.
_FORCE_DFU_1_1 = {(0x1EAF, 0x0003)}  # Leaflabs Maple
# §7.4: the LPC bootloader reports protocol 1 (run-time) while it is in DFU mode.
_DFU_MODE_WITH_RUNTIME_PROTOCOL = {(0x1FC9, 0x000C)}


@dataclass(frozen=True, slots=True)
class FunctionalDescriptor:
    """The DFU functional descriptor (§1.1), with the version normalised (§7.4)."""

    attributes: Attributes
    detach_timeout_ms: int
    transfer_size: int
    dfu_version: int
    raw_version: int | None = None

    @property
    def is_dfuse(self) -> bool:
        """ST DfuSe ("1.1a", bcdDFUVersion 0x011A, §2.1)."""
        return self.dfu_version == DFU_VERSION_DFUSE

    @property
    def can_download(self) -> bool:
        return Attributes.CAN_DNLOAD in self.attributes

    @property
    def can_upload(self) -> bool:
        return Attributes.CAN_UPLOAD in self.attributes

    @property
    def manifestation_tolerant(self) -> bool:
        return Attributes.MANIFESTATION_TOLERANT in self.attributes

    @property
    def will_detach(self) -> bool:
        return Attributes.WILL_DETACH in self.attributes

    @property
    def version_text(self) -> str:
        """ "1.1", "1.0" or "1.1a" (DfuSe)."""
        if self.is_dfuse:
            return "1.1a"
        return f"{self.dfu_version >> 8:x}.{(self.dfu_version >> 4) & 0xF:x}"


def iter_descriptors(extra: bytes) -> list[bytes]:
    """Split a run of concatenated descriptors by their bLength; stops at a malformed one."""
    out: list[bytes] = []
    pos = 0
    while pos + 2 <= len(extra):
        length = extra[pos]
        if length < 2 or pos + length > len(extra):
            break
        out.append(bytes(extra[pos : pos + length]))
        pos += length
    return out


def normalise_version(raw: int, vid: int = 0, pid: int = 0) -> int:
    """Undo the known descriptor quirks of §7.4."""
    if (vid, pid) in _FORCE_DFU_1_1:
        return DFU_VERSION_1_1
    if raw == 0x1A01:  # ST USB-FS lib 3.1.0 sent the two bytes swapped
        return DFU_VERSION_DFUSE
    if raw == 0x0101:  # some DFU 1.1 devices say 1.01 (§1.1)
        return DFU_VERSION_1_1
    return raw


def parse_functional_descriptor(
    data: bytes, *, vid: int = 0, pid: int = 0
) -> FunctionalDescriptor | None:
    """Decode one functional descriptor (9 bytes, or 7 on DFU 1.0); None if ``data`` is not one."""
    if len(data) < 7 or data[1] != DFU_FUNCTIONAL_DESCRIPTOR_TYPE or data[0] < 7:
        return None
    raw = int.from_bytes(data[7:9], "little") if data[0] >= 9 and len(data) >= 9 else None
    return FunctionalDescriptor(
        attributes=Attributes(data[2] & 0x0F),  # bits 4-7 reserved / "accelerated ST" (§1.1)
        detach_timeout_ms=int.from_bytes(data[3:5], "little"),
        transfer_size=int.from_bytes(data[5:7], "little"),
        dfu_version=normalise_version(raw if raw is not None else DFU_VERSION_1_0, vid, pid),
        raw_version=raw,
    )


def find_functional_descriptor(
    *extras: bytes, vid: int = 0, pid: int = 0
) -> FunctionalDescriptor | None:
    """The first functional descriptor in any of the extra-byte runs (config, then each alt).

    ST devices put it once, after the last alternate, so libusb shows it in the extra bytes of
    that alternate only (§1.1); searching everything as dfu-util does finds it wherever it is.
    """
    for extra in extras:
        for desc in iter_descriptors(extra):
            found = parse_functional_descriptor(desc, vid=vid, pid=pid)
            if found is not None:
                return found
    return None


def is_dfu_interface(interface_class: int, interface_subclass: int) -> bool:
    """Application specific class, DFU subclass (§1.1)."""
    return interface_class == DFU_INTERFACE_CLASS and interface_subclass == DFU_INTERFACE_SUBCLASS


def detect_mode(
    protocol: int,
    functional: FunctionalDescriptor | None,
    *,
    device_class: int = 0,
    vid: int = 0,
    pid: int = 0,
) -> str:
    """ "dfu" or "runtime" for a DFU interface, coping with the protocol quirks of §7.4."""
    if protocol == DFU_PROTOCOL_DFU_MODE:
        return "dfu"
    if protocol == DFU_PROTOCOL_RUNTIME:
        return "dfu" if (vid, pid) in _DFU_MODE_WITH_RUNTIME_PROTOCOL else "runtime"
    # Protocol 0: DFU 1.0 devices and a few DfuSe ones (DSO Nano). DfuSe only exists in DFU mode;
    # a DFU 1.0 device in DFU mode has device class 0xFE (§1.1).
    if functional is not None and functional.is_dfuse:
        return "dfu"
    return "dfu" if device_class == DFU_INTERFACE_CLASS else "runtime"


def layout_name(text: str) -> str:
    """The memory name of a layout string "@Internal Flash  /0x08000000/..." (§3.1), stripped."""
    if text.startswith("@"):
        return text[1:].split("/", 1)[0].strip()
    return text.strip()
