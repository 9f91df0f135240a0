"""Where the real .dfu files of tests/data/dfu_corpus.json are, if anywhere on this machine.

The files come from public repositories and may not be committed here; the planners can keep
them in the steering repository's ``shared/reference/dfu-corpus/`` (found beside this checkout),
or anyone can point ``PYDFUSE_DFU_CORPUS`` at a directory holding them (named as in ``file``).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_CORPUS = REPO.parent / "shared" / "reference" / "dfu-corpus"
SKIP_REASON = (
    "the real .dfu files are not on this machine: put them (named as in tests/data/"
    "dfu_corpus.json) in ../shared/reference/dfu-corpus or in $PYDFUSE_DFU_CORPUS "
    "(fetched files may not be committed; the manifest says where each comes from)"
)


def corpus_dir() -> Path | None:
    """The directory holding the corpus files: $PYDFUSE_DFU_CORPUS, else the shared copy."""
    given = os.environ.get("PYDFUSE_DFU_CORPUS")
    if given:
        return Path(given)
    return SHARED_CORPUS if SHARED_CORPUS.is_dir() else None
