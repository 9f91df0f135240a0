"""Random-request fuzzing of the simulator's pyusb backend (issue #9), see support.simfuzz for
the invariants: only USBError leaves pyusb, the state is always a DFU state, GETSTATUS always
answers, memory changes only through a legal erase or program, every class request does what
§1.6 allows.

``make test`` plays 20,000 sequences; ``make fuzz`` one million, spread over every core.
A failure names the profile, seed and sequence; ``support.simfuzz.replay(seed, n)`` replays it.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from types import MappingProxyType

import pytest

from pydfuse.sim.dfu_table import Cell, Event
from pydfuse.sim.profiles import PROFILES
from pydfuse.spec import State
from support.simfuzz import Fuzzer, Violation, check_state

SEED = int(os.environ.get("PYDFUSE_FUZZ_SEED", "9"))


def test_twenty_thousand_random_sequences_keep_the_invariants() -> None:
    fuzzer = Fuzzer(SEED)
    steps = fuzzer.run(20_000)
    counts = fuzzer.counts()
    # The sequences really reach the device's work, not only its refusals.
    assert steps > 150_000
    assert counts["erases"] > 1_000 and counts["program_units"] > 10_000
    assert counts["bytes_uploaded"] > 10_000 and counts["stalls"] > 1_000


def test_every_profile_is_fuzzed() -> None:
    assert set(Fuzzer(SEED).profiles) == set(PROFILES)


def test_the_checks_catch_a_memory_change_nobody_asked_for() -> None:
    fuzzer = Fuzzer(1, profiles=("stm3210e-eval",))
    board, _ = fuzzer._board("stm3210e-eval")
    original = board.memory(0).program

    def sneaky(address: int, data: bytes):  # type: ignore[no-untyped-def]
        board.memory(0).load(0x08040000, b"\x00")  # a byte no request could have written
        return original(address, data)

    board.memory(0).program = sneaky  # type: ignore[method-assign]
    with pytest.raises(Violation, match="0x08040000 went 0xff -> 0x00"):
        fuzzer.run(200)


def test_the_checks_catch_a_state_outside_the_table_and_an_escaping_error() -> None:
    fuzzer = Fuzzer(1, profiles=("plain-dfu",))
    board, _ = fuzzer._board("plain-dfu")
    assert board.dfu is not None
    board.dfu.state = 42  # type: ignore[assignment]
    with pytest.raises(Violation, match="state 42 is none of the 11 DFU states"):
        check_state(board, "now")
    with pytest.raises(Violation, match="KeyError escaped pyusb"):
        fuzzer.run(1)  # the state table has no row for 42: the simulator itself breaks


def test_the_checks_catch_a_transition_the_state_table_does_not_allow() -> None:
    fuzzer = Fuzzer(1, profiles=("stm32f4-rom",))
    board, _ = fuzzer._board("stm32f4-rom")
    assert board.dfu is not None
    # A GETSTATUS in dfuIDLE that runs the DNLOAD-SYNC handler: it leaves dfuDNLOAD-IDLE.
    cells = {**board.dfu.table, (State.DFU_IDLE, Event.GETSTATUS): Cell.ACCEPT}
    board.dfu.table = MappingProxyType(cells)
    with pytest.raises(Violation, match=r"GETSTATUS in DFU_IDLE .*left DFU_DNLOAD_IDLE"):
        fuzzer.run(50)


def _chunk(seed: int) -> tuple[int, int]:
    return 10_000, Fuzzer(seed).run(10_000)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_one_million_random_sequences_keep_the_invariants() -> None:
    workers = max(os.cpu_count() or 1, 1)
    seeds = range(1000, 1100)  # 100 chunks of 10,000 sequences, each with its own seed
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(_chunk, seeds))
    assert sum(sequences for sequences, _ in results) == 1_000_000
