"""Real .dfu files from public repositories (tests/data/dfu_corpus.json: provenance and facts):
``info``, ``unpack`` and ``suffix check`` succeed on every one, and the element data (a plain
file's payload) survives unpack -> pack byte for byte.

The files cannot be committed (see the manifest's ``about``): they are looked for in
``../shared/reference/dfu-corpus`` or in ``$PYDFUSE_DFU_CORPUS`` (tests/support/corpus.py);
without them only the manifest is checked.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from pydfuse.cli.main import main
from pydfuse.formats.dfu import parse_dfu
from pydfuse.formats.dfuse import DfuseFile
from pydfuse.formats.plain import PlainDfuFile
from support.corpus import SKIP_REASON, corpus_dir

MANIFEST = json.loads((Path(__file__).parents[1] / "data" / "dfu_corpus.json").read_text())
ENTRIES: list[dict[str, Any]] = MANIFEST["files"]
CORPUS = corpus_dir()
needs_files = pytest.mark.skipif(CORPUS is None, reason=SKIP_REASON)


def test_the_manifest_covers_twenty_files_from_five_producers() -> None:
    dfu = [e for e in ENTRIES if e["facts"]["kind"] != "not-dfu"]
    assert len(dfu) >= 20
    assert len({e["producer"].split(" (")[0] for e in dfu}) >= 5
    for entry in ENTRIES:
        assert entry["repo"] and entry["path"] and len(entry["commit"]) == 40
        assert len(entry["sha256"]) == 64 and entry["producer"]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _memory(dfu: DfuseFile) -> dict[int, dict[int, int]]:
    """Every element byte by alternate and address."""
    out: dict[int, dict[int, int]] = {}
    for target in dfu.targets:
        image = out.setdefault(target.alt, {})
        for element in target.elements:
            image.update(enumerate(element.data, start=element.address))
    return out


def _facts(dfu: DfuseFile | PlainDfuFile) -> dict[str, Any]:
    if isinstance(dfu, PlainDfuFile):
        return {"payload": [len(dfu.payload), hashlib.sha256(dfu.payload).hexdigest()[:16]]}
    return {
        "targets": [
            {
                "alt": t.alt,
                "name": t.name,
                "elements": [
                    [f"0x{e.address:08x}", len(e.data), hashlib.sha256(e.data).hexdigest()[:16]]
                    for e in t.elements
                ],
            }
            for t in dfu.targets
        ]
    }


def _round_trip(
    capsys: pytest.CaptureFixture[str], path: Path, dfu: DfuseFile, work: Path
) -> DfuseFile:
    """unpack --format bin, then pack every element file back at its address."""
    code, out, err = _run(capsys, "unpack", str(path), "-o", str(work), "--format", "bin", "--json")
    assert code == 0, err
    targets = []
    for row in json.loads(out)["files"]:
        targets += ["-t", f"{row['alt']}={row['path']}@{row['address']:#x}"]
    repacked = work / "repacked.dfu"
    code, _, err = _run(capsys, "pack", str(repacked), *targets)
    assert code == 0, err
    again = parse_dfu(repacked.read_bytes())
    assert isinstance(again, DfuseFile)
    return again


@needs_files
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["file"])
def test_real_file(
    entry: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert CORPUS is not None
    path = CORPUS / entry["file"]
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    facts = entry["facts"]
    if facts["kind"] == "not-dfu":
        code, _, err = _run(capsys, "info", str(path))
        assert code == 1 and "not a DFU file" in err and "Traceback" not in err
        return
    for command in (["info", str(path)], ["suffix", "check", str(path)]):
        code, _, err = _run(capsys, *command)
        assert code == 0, (command, err)
    dfu = parse_dfu(data)
    assert {"dfuse": DfuseFile, "plain-dfu": PlainDfuFile}[facts["kind"]] is type(dfu)
    assert list(dfu.warnings) == facts["warnings"]
    for key, value in _facts(dfu).items():
        assert value == facts[key], key
    if isinstance(dfu, PlainDfuFile):
        code, out, err = _run(capsys, "unpack", str(path), "-o", str(tmp_path), "--json")
        assert code == 0, err
        assert Path(json.loads(out)["files"][0]["path"]).read_bytes() == dfu.payload
        return
    assert _memory(_round_trip(capsys, path, dfu, tmp_path)) == _memory(dfu)
