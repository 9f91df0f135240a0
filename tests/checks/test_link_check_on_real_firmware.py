"""The link-address check on the real firmware of tests/data/dfu_corpus.json (MicroPython,
OpenMV, LEGO SPIKE, ST's Cube DFU samples, ...): no false alarm where each file puts its
application, and every copy moved lower (linked higher than loaded: the case whose handlers
stay inside the image) is refused naming the address it was linked for.

The files cannot be committed (see the manifest's ``about``): tests/support/corpus.py says
where they are looked for; without them the test is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pydfuse.checks import TargetImage, looks_like_vector_table, preflight
from pydfuse.formats import DfuseFile, Image, read_dfu
from pydfuse.layout import parse_layout
from support.corpus import SKIP_REASON, corpus_dir

MANIFEST = json.loads((Path(__file__).parents[1] / "data" / "dfu_corpus.json").read_text())
CORPUS = corpus_dir()
FLASH = {0: parse_layout("@Internal Flash /0x08000000/1024*002Kg")}  # 2 MiB, 2 KiB pages


def _applications() -> list[str]:
    return [e["file"] for e in MANIFEST["files"] if e["facts"]["kind"] == "dfuse"]


@pytest.mark.skipif(CORPUS is None, reason=SKIP_REASON)
@pytest.mark.parametrize("name", _applications())
def test_real_firmware_passes_where_it_is_and_is_refused_moved_lower(name: str) -> None:
    assert CORPUS is not None
    dfu = read_dfu(CORPUS / name)
    assert isinstance(dfu, DfuseFile)
    for target in dfu.targets:
        image = target.image
        if not image or not 0x08000000 <= image.start < 0x08200000:
            continue
        if not looks_like_vector_table(image, image.start):
            continue  # data (a logo), or fwupd's test file holding text
        report = preflight([TargetImage(0, target.name, image)], FLASH)
        assert not [f for f in report.findings if f.code.startswith("vector.")], name
        if image.start < 0x08004000:
            continue
        for shift in (0x1000, 0x4000, 0x8000):
            moved = Image.from_segments([(s.address - shift, s.data) for s in image])
            found = [f for f in preflight([TargetImage(0, "", moved)], FLASH).findings]
            (finding,) = [f for f in found if f.code == "vector.linked-elsewhere"]
            assert f"0x{image.start:08x} but is being loaded" in finding.message or (
                "about" in finding.message
            ), finding.message
