"""Shell completion (README, "Shell completion"): click's scripts for bash, zsh and fish, and
completions of command names and options through the lazy command registry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DFUSE = str(Path(sys.executable).with_name("dfuse"))


def _complete(shell: str, **env: str) -> str:
    done = subprocess.run(
        [DFUSE],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "_DFUSE_COMPLETE": shell, **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash_source", "_dfuse_completion()"), ("zsh_source", "#compdef dfuse"),
     ("fish_source", "function _dfuse_completion")],
)  # fmt: skip
def test_each_shell_gets_its_script(shell: str, marker: str) -> None:
    assert marker in _complete(shell)


def test_commands_and_options_complete() -> None:
    assert _complete("bash_complete", COMP_WORDS="dfuse fla", COMP_CWORD="1").split() == [
        "plain,flash"
    ]
    options = _complete("bash_complete", COMP_WORDS="dfuse flash --le", COMP_CWORD="2").split()
    assert options == ["plain,--leave", "plain,--leave-address"]
    sub = _complete("bash_complete", COMP_WORDS="dfuse sim fault ho", COMP_CWORD="3").split()
    assert sub == ["plain,host"]
