"""Public verbs over the host layer: list, check, flash, upload, erase, leave, detach, unprotect,
option bytes (layer: ops; the CLI is a thin layer over this package).

Imports ``pydfuse.host``, ``pydfuse.plan``, ``pydfuse.checks``, ``pydfuse.layout``,
``pydfuse.formats``, ``pydfuse.spec``, ``pydfuse.errors``, and ``pydfuse.sim`` lazily inside
:func:`sim_environment` only. Library code: nothing here prints or exits; progress is reported
through a callback receiving :class:`ProgressEvent` values.

``flash`` on a DfuSe device: open the one selected device, bring it to dfuIDLE (CLRSTATUS/ABORT),
resolve each target to its alternate, check it against the device's own layout (PlanError unless
``force``), plan it (``pydfuse.plan``), erase each touched sector once (or mass erase), program
every contiguous run with ONE Set Address and wBlockNum 2, 3, ... in full wTransferSize blocks,
waiting exactly the reported bwPollTimeout on the environment's clock, read back and compare
(VerifyError with the first differing address), and optionally leave (Set Address + zero-length
DNLOAD + GETSTATUS; a device that vanishes then is success). A DFU error status is raised as
DfuStatusError after the device has been cleared back to dfuIDLE, so a retry works.
"""

from __future__ import annotations

from pydfuse.ops.backup import backup_file
from pydfuse.ops.check import CheckedTarget, DeviceCheck, check_firmware, with_findings
from pydfuse.ops.detach import detach, usb_reset
from pydfuse.ops.doctor import (
    UDEV_RULES_PATH,
    DoctorReport,
    doctor,
    install_udev_rules,
    udev_rules,
)
from pydfuse.ops.env import (
    Environment,
    SimEnvironment,
    board_summary,
    facts_of_profile,
    sim_environment,
    traced,
    usb_environment,
)
from pydfuse.ops.firmware import Firmware, FirmwareSource, ImageSource, raw_firmware
from pydfuse.ops.flash import flash
from pydfuse.ops.fleet import (
    BoardEnvironment,
    BoardOutcome,
    each_device,
    flash_many,
    leave_many,
    on_boards,
    select_devices,
    upload_many,
)
from pydfuse.ops.optionbytes import (
    OptionBytesChange,
    OptionBytesReport,
    UnprotectResult,
    option_bytes,
    set_option_bytes,
    unprotect,
)
from pydfuse.ops.progress import Progress
from pydfuse.ops.records import (
    AltInfo,
    DeviceInfo,
    DeviceSelector,
    EraseResult,
    FlashResult,
    LeaveResult,
    ProgressEvent,
    ProtectionState,
    TargetResult,
    UploadResult,
)
from pydfuse.ops.replay import ReplayResult, read_trace, replay_trace
from pydfuse.ops.run import (
    RunFinding,
    RunReport,
    link_plan,
    report_run,
    run_image,
    symbols_check,
)
from pydfuse.ops.session import WAIT_POLL_S, alternate_holding, list_devices, notice
from pydfuse.ops.transfer import erase, leave, leave_device, upload, upload_all

__all__ = [
    "UDEV_RULES_PATH",
    "WAIT_POLL_S",
    "AltInfo",
    "BoardEnvironment",
    "BoardOutcome",
    "CheckedTarget",
    "DeviceCheck",
    "DeviceInfo",
    "DeviceSelector",
    "DoctorReport",
    "Environment",
    "EraseResult",
    "Firmware",
    "FirmwareSource",
    "FlashResult",
    "ImageSource",
    "LeaveResult",
    "OptionBytesChange",
    "OptionBytesReport",
    "Progress",
    "ProgressEvent",
    "ProtectionState",
    "ReplayResult",
    "RunFinding",
    "RunReport",
    "SimEnvironment",
    "TargetResult",
    "UnprotectResult",
    "UploadResult",
    "alternate_holding",
    "backup_file",
    "board_summary",
    "check_firmware",
    "detach",
    "doctor",
    "each_device",
    "erase",
    "facts_of_profile",
    "flash",
    "flash_many",
    "install_udev_rules",
    "leave",
    "leave_device",
    "leave_many",
    "link_plan",
    "list_devices",
    "notice",
    "on_boards",
    "option_bytes",
    "raw_firmware",
    "read_trace",
    "replay_trace",
    "report_run",
    "run_image",
    "select_devices",
    "set_option_bytes",
    "sim_environment",
    "symbols_check",
    "traced",
    "udev_rules",
    "unprotect",
    "upload",
    "upload_all",
    "upload_many",
    "usb_environment",
    "usb_reset",
    "with_findings",
]
