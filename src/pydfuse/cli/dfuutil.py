"""dfu-util 0.11's spellings, for hands that know it (layer: cli; imports click only).

- :func:`parse_dfuse_address`: ``-s ADDRESS[:MODIFIER...]`` with dfu-util's modifiers
  ``leave``, ``mass-erase``, ``unprotect``, ``force``, ``will-reset`` and a ``LENGTH``.
- :func:`dfu_util_words`: a command line written for dfu-util (``dfuse -a 0 -s
  0x08000000:leave -D fw.bin``, ``dfuse -l``) gets the pydfuse command its action flag names
  (``-D`` flash, ``-U`` upload, ``-l`` list, ``-e`` detach).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from pathlib import Path  # on use: this module is on every command's start-up path

MODIFIERS = ("leave", "mass-erase", "unprotect", "force", "will-reset")


class DfuseAddress:
    """A parsed ``-s``: the address (None for ``-s :leave``), a LENGTH, the modifiers.

    A plain class: this module is on every command's start-up path (a dataclass costs more)."""

    __slots__ = ("address", "length", "modifiers")

    def __init__(self, address: int | None, length: int | None, modifiers: frozenset[str]):
        self.address, self.length, self.modifiers = address, length, modifiers

    def __contains__(self, modifier: str) -> bool:
        return modifier in self.modifiers

    def __repr__(self) -> str:
        return f"DfuseAddress({self.address!r}, {self.length!r}, {sorted(self.modifiers)!r})"


def parse_dfuse_address(text: str) -> DfuseAddress:
    """``0x08000000``, ``0x08000000:leave``, ``0x08000000:mass-erase:force``, ``:leave``,
    ``0x08000000:0x4000`` (LENGTH, e.g. for upload). As in dfu-util, ``mass-erase`` and
    ``unprotect`` need ``force``; raises :class:`click.BadParameter` (on ``-s``)."""
    from pydfuse.cli.params import parse_address  # this module is on every start-up path

    head, *parts = text.split(":")
    try:
        address = parse_address(head) if head.strip() else None
    except click.BadParameter as error:
        raise click.BadParameter(error.message, param_hint="-s") from None
    modifiers: set[str] = set()
    length: int | None = None
    for part in (p.strip().lower() for p in parts):
        if part in MODIFIERS:
            modifiers.add(part)
            continue
        if not part:
            continue
        try:
            value = parse_address(part)
        except click.BadParameter:
            raise click.BadParameter(
                f"unknown modifier {part!r} in {text!r}; use {', '.join(MODIFIERS)} or a length",
                param_hint="-s",
            ) from None
        if length is not None or value == 0:
            raise click.BadParameter(
                f"give one length of at least 1 byte in {text!r}", param_hint="-s"
            )
        length = value
    for needs_force in ("mass-erase", "unprotect"):
        if needs_force in modifiers and "force" not in modifiers:
            raise click.BadParameter(
                f"{needs_force} erases the whole flash; add :force to confirm, as with dfu-util",
                param_hint="-s",
            )
    return DfuseAddress(address, length, frozenset(modifiers))


# dfu-util's action flags and the pydfuse command each one names. -D and -U stay on the line
# (flash and upload take them, also glued: -Dfw.bin, --download=fw.bin); -l and -e are the
# command itself.
_ACTIONS = {"-D": "flash", "--download": "flash", "-U": "upload", "--upload": "upload"}
_ACTIONS |= {"-l": "list", "--list": "list", "-e": "detach", "--detach": "detach"}
_DROPPED = frozenset({"-l", "--list", "-e", "--detach"})
# dfu-util's long spellings that pydfuse writes short (detach's own --wait takes seconds).
_RENAMED = {"--wait": "-w", "--dfuse-address": "-s"}


def _action(word: str) -> str | None:
    """The command a dfu-util action flag names, glued values included (``-Dfw.bin``)."""
    name = word.split("=", 1)[0] if word.startswith("--") else word[:2]
    if word in _ACTIONS or (name in ("-D", "-U", "--download", "--upload") and name != word):
        return _ACTIONS[name]
    return None


def _renamed(word: str) -> str:
    name, eq, value = word.partition("=")
    if name not in _RENAMED:
        return word
    return _RENAMED[name] + value if eq else _RENAMED[name]  # --dfuse-address=X: -sX


def dfu_util_words(words: Sequence[str], start: int) -> list[str] | None:
    """``words`` with the pydfuse command inserted at ``start`` (after the group's own
    options), when the rest names no command but carries a dfu-util action flag (or, as
    dfu-util's "DfuSe command mode", only ``-s`` with ``:leave``, ``:mass-erase`` or
    ``:unprotect``); None when there is nothing to do."""
    rest = list(words[start:])
    if not rest or "--" in rest:
        return None
    found = {command for command in map(_action, rest) if command is not None}
    if len(found) > 1:
        raise click.UsageError(
            "give one dfu-util action: -D (download), -U (upload), -l (list) or -e (detach)"
        )
    kept = [_renamed(w) for w in rest if w not in _DROPPED]
    if found:
        return [*words[:start], found.pop(), *kept]
    command = _command_mode(kept)
    if command is None and rest[0].split("=", 1)[0] in _DFU_UTIL_OPTIONS:
        raise click.UsageError(
            "a dfu-util line needs an action: -D FILE (download), -U FILE (upload), -l (list) "
            "or -e (detach); dfuse --help lists pydfuse's commands"
        )
    return None if command is None else [*words[:start], *command]


# dfu-util options that start a line with no action (``dfuse -d 0483:df11``): worth a hint.
_DFU_UTIL_OPTIONS = frozenset(
    "-a --alt -d --device -S --serial -p --path -R --reset -Z --upload-size "  # noqa: SIM905
    "-t --transfer-size -c --cfg -i --intf -E --detach-delay".split()
)


def _command_mode(words: list[str]) -> list[str] | None:
    """dfu-util's ``-s ADDRESS:MODIFIERS`` without -D or -U (DfuSe command mode) as the
    pydfuse command doing the same: ``leave [--address A]``, ``erase --mass --force``,
    ``unprotect --force``. None when the words hold no ``-s``."""
    text, others = _take_option(words, "-s")
    if text is None:
        return None
    given = parse_dfuse_address(text)
    if "unprotect" in given:
        # unprotect has no -a: Read Unprotect is for the whole chip
        return ["unprotect", "--force", *_take_option(others, "-a", "--alt")[1]]
    if "mass-erase" in given and "leave" in given:
        raise click.UsageError(
            "one DfuSe command at a time: dfuse erase --mass --force, then dfuse leave"
        )
    if "mass-erase" in given:
        if given.address is not None and _take_option(others, "-a", "--alt")[0] is None:
            raise click.UsageError(
                f"-s {text}: a mass erase erases a whole memory, and the address does not choose "
                "it (dfu-util erases the first alternate); choose the memory with -a ALT"
            )
        return ["erase", "--mass", "--force", *others]
    if "leave" in given:
        address = [] if given.address is None else ["--address", hex(given.address)]
        return ["leave", *address, *(["--force"] if "force" in given else []), *others]
    raise click.UsageError(
        f"-s {text} alone does nothing: give -D FILE to download or -U FILE to upload "
        "(or :leave, :mass-erase:force, :unprotect:force)"
    )


def _take_option(words: list[str], *names: str) -> tuple[str | None, list[str]]:
    """The value of the last of the options ``names`` in ``words`` (``-s V``, ``-sV``,
    ``--opt=V``) and the words without them."""
    value: str | None = None
    others: list[str] = []
    skip = False
    for index, word in enumerate(words):
        if skip:
            skip = False
            continue
        name, eq, glued = word.partition("=")
        if word in names:
            value, skip = (words[index + 1] if index + 1 < len(words) else ""), True
        elif eq and name in names and name.startswith("--"):
            value = glued
        elif any(n for n in names if not n.startswith("--") and word.startswith(n) and word != n):
            value = word[2:]
        else:
            others.append(word)
    return value, others


# What the first bytes of a firmware read from stdin say it is (its name decides how it loads).
_MAGIC = ((b"DfuSe", ".dfu"), (b"\x7fELF", ".elf"), (b":", ".hex"), (b"S0", ".s19"))


@contextmanager
def stdin_firmware() -> Iterator[Path]:
    """dfu-util's ``-D -``: the firmware on stdin, as a file in a temporary folder named by what
    it is (``stdin.dfu``, ``.hex``, ``.s19``, ``.elf``, else ``.bin``; a plain file with a
    DFU suffix is ``.bin``, whose suffix flash strips), removed afterwards."""
    import sys
    import tempfile
    from pathlib import Path

    data = sys.stdin.buffer.read()
    if not data:
        from pydfuse.errors import FormatError

        raise FormatError(
            "nothing on stdin", path="-", hint="pipe the firmware in: ... | dfuse -D -"
        )
    kind = next((ext for magic, ext in _MAGIC if data.startswith(magic)), ".bin")
    with tempfile.TemporaryDirectory(prefix="dfuse-stdin-") as folder:
        path = Path(folder) / f"stdin{kind}"
        path.write_bytes(data)
        yield path
