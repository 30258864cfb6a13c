"""A CI-sized run of bench/fuzz_smpp.py, and checks that the harness can see what it hunts.

The full run (1,000,000 inputs) is `python bench/fuzz_smpp.py`; here 20,000 inputs with a
fixed seed go through the framer, the ESME protocol and the simulator's server protocol.
"""

from __future__ import annotations

import importlib.util
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from twisted.logger import Logger

from protocols.smpp import constants as c
from protocols.smpp.pdu import LAYOUTS, decode

FUZZ_PY = Path(__file__).resolve().parents[3] / "bench" / "fuzz_smpp.py"
CI_COUNT = 20_000
CI_SEED = 20_240_601


@pytest.fixture(scope="module")
def fuzz() -> ModuleType:
    """bench/fuzz_smpp.py, loaded by path (bench/ is not a package; nothing imports it)."""
    spec = importlib.util.spec_from_file_location("fuzz_smpp", FUZZ_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_smpp"] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ci_run(fuzz: ModuleType) -> Any:
    """One shared CI-sized run of all three targets."""
    return fuzz.run(CI_COUNT, seed=CI_SEED)


def test_ci_run_finds_no_crash_and_no_hang(ci_run: Any) -> None:
    """20,000 mutated PDUs through framer, ESME and simulator: 0 crashes, 0 hangs."""
    details = "\n".join(p.describe() for p in ci_run.problems)
    assert (ci_run.crashes, ci_run.hangs) == (0, 0), details
    assert ci_run.count == CI_COUNT
    assert ci_run.targets == ["framer", "esme", "simulator"]
    assert max(ci_run.slowest.values()) < 1.0


def test_ci_run_reaches_deep_states(fuzz: ModuleType, ci_run: Any) -> None:
    """The inputs are not all rejected at the door: sessions bind, submit, deliver, nack."""
    assert ci_run.framer_pdus > 1000
    assert {c.ESME_RINVCMDLEN, c.ESME_RINVCMDID, c.ESME_RINVOPTPARSTREAM} <= set(
        ci_run.framer_errors
    )
    esme = ci_run.target_stats["esme"]
    for counter in ("binds", "submits", "responses", "malformed", "delivers", "generic_nacks"):
        assert esme[counter] > 0, counter
    simulator = ci_run.target_stats["simulator"]
    for counter in ("binds", "accepted", "receipts_sent", "delivers_acked", "generic_nacks"):
        assert simulator[counter] > 0, counter
    mutator = fuzz.Mutator(fuzz.Corpus.build(), random.Random(0), fuzz.MAX_LENGTH)
    assert set(ci_run.mutations) == {name for name, _op in mutator.ops}


def test_corpus_covers_all_27_operations(fuzz: ModuleType) -> None:
    """Every corpus entry is a valid PDU, and every operation is in the corpus."""
    corpus = fuzz.Corpus.build()
    assert corpus.command_ids == set(LAYOUTS)
    for wire in corpus.entries:
        assert decode(wire) is not None


def test_length_fields_point_at_lengths(fuzz: ModuleType) -> None:
    """The mutator's length-field offsets hold command_length, sm_length and TLV lengths."""
    corpus = fuzz.Corpus.build()
    for wire, fields in zip(corpus.entries, corpus.fields, strict=True):
        assert fields[0] == (0, 4)
        assert int.from_bytes(wire[:4], "big") == len(wire)
        pdu = decode(wire)
        tlv_lengths = [int.from_bytes(wire[o : o + 2], "big") for o, w in fields if w == 2]
        assert tlv_lengths == [len(value) for _tag, value in pdu.tlvs]
        if "short_message" in pdu.params:
            assert any(wire[o] == len(pdu.params["short_message"]) for o, w in fields if w == 1)


def test_runs_are_deterministic(fuzz: ModuleType) -> None:
    """The same seed gives the same inputs and the same findings."""
    first = fuzz.run(500, seed=99, targets=("framer",))
    second = fuzz.run(500, seed=99, targets=("framer",))
    assert first.octets == second.octets
    assert first.framer_errors == second.framer_errors
    assert first.mutations == second.mutations
    other = fuzz.run(500, seed=100, targets=("framer",))
    assert other.octets != first.octets


class _Exploding:
    """A target with a bug: raises on inputs whose 5th octet is odd."""

    name = "exploding"

    def run(self, data: bytes, chunks: Sequence[bytes], rng: random.Random) -> None:
        if len(data) > 4 and data[4] & 1:
            raise KeyError("boom")

    def tick(self, rng: random.Random) -> None:
        return None

    def stats(self) -> dict[str, int]:
        return {}


class _Logging(_Exploding):
    """A target that swallows its exception and logs it, as the protocols do."""

    name = "logging"
    log = Logger()

    def run(self, data: bytes, chunks: Sequence[bytes], rng: random.Random) -> None:
        try:
            super().run(data, chunks, rng)
        except KeyError:
            self.log.failure("swallowed")


class _Slow(_Exploding):
    """A target that stalls once."""

    name = "slow"

    def __init__(self) -> None:
        self.calls = 0

    def run(self, data: bytes, chunks: Sequence[bytes], rng: random.Random) -> None:
        self.calls += 1
        if self.calls == 3:
            time.sleep(0.05)


def test_harness_counts_raised_and_logged_crashes(fuzz: ModuleType) -> None:
    """An exception escaping a target, or one it logs, is a crash with its input kept."""
    result = fuzz.run(200, seed=1, targets=(), extra_targets=[_Exploding(), _Logging()])
    assert result.crashes > 0
    by_target = {p.target for p in result.problems}
    assert by_target == {"exploding", "logging"}
    for problem in result.problems:
        assert problem.data[4] & 1
    assert any("KeyError" in s for s in result.signatures)
    assert any("logged: swallowed" in s for s in result.signatures)
    assert sum(result.signatures.values()) == result.crashes


def test_harness_counts_hangs(fuzz: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """One input over the time limit is a hang (the limit is lowered to keep this fast)."""
    monkeypatch.setattr(fuzz, "HANG_SECONDS", 0.02)
    result = fuzz.run(10, seed=1, targets=(), extra_targets=[_Slow()])
    assert (result.hangs, result.crashes) == (1, 0)
    assert result.problems[0].index == 2


def test_harness_sees_a_framer_that_overbuffers(
    fuzz: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A framer that holds more than max_length octets is reported."""
    from protocols.smpp.framer import Framer

    monkeypatch.setattr(Framer, "buffered", property(lambda self: 10**9))
    result = fuzz.run(50, seed=1, targets=("framer",))
    assert result.crashes > 0
    assert any("framer holds" in s for s in result.signatures)


def test_summary_names_the_figures(fuzz: ModuleType, ci_run: Any) -> None:
    """The BENCHMARKS.md text carries count, rate, crashes and hangs."""
    text = fuzz.summary(ci_run, "python bench/fuzz_smpp.py --count 20000")
    assert f"{CI_COUNT:,}" in text
    assert "inputs/s" in text
    assert "| 0 | 0 |" in text
    assert "all 27 operations" in text
