"""What was read from a device, as one file that ``flash`` takes back (layer: ops).

Imports ``pydfuse.formats`` and the sibling ``records``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydfuse.formats import BCD_DFU_1_1, DfuseFile, DfuSuffix, Image, PlainDfuFile, pack_images
from pydfuse.ops.records import DeviceInfo, DeviceSelector

ST_VID, ST_DFU_PID = 0x0483, 0xDF11


def backup_file(
    device: DeviceInfo | None,
    selector: DeviceSelector,
    found: Sequence[tuple[int, str, Image]],
) -> DfuseFile | PlainDfuFile:
    """Pack ``(alt, name, image)`` read from ``device`` (empty alternates left out): a DfuSe
    file whose suffix carries the device's own VID:PID, or for a plain DFU 1.1 device a plain
    file (payload + suffix, §4.8), which is what it takes back. Without the device's
    description the selector's IDs (else ST's 0483:df11) go into the suffix."""
    vid, pid = (device.vid, device.pid) if device is not None else (selector.vid, selector.pid)
    vid = ST_VID if vid is None else vid
    pid = ST_DFU_PID if pid is None else pid
    images = [(alt, name, image) for alt, name, image in found if image]
    if device is not None and not device.dfuse and len(images) == 1:
        image = images[0][2]
        payload = image.read(image.start, image.end - image.start)
        return PlainDfuFile(payload, DfuSuffix(0xFFFF, pid, vid, BCD_DFU_1_1))
    return pack_images(images, vid=vid, pid=pid)
