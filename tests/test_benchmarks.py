"""Smoke test of benchmarks/: every implementation of every workload trains the same way.

Two steps from identical weights must give the same losses (the second one
checks the gradients and the SGD update too). W4 runs at a reduced width so
the test stays fast; timing is never asserted. PyTorch is compared only when
it can be imported.
"""
import dataclasses
import os
import platform
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import run as bench  # noqa: E402  (benchmarks/run.py)
import workloads as wl  # noqa: E402  (benchmarks/workloads.py)

SMALL = {"W4": dict(sizes=(64, 128, 128, 10), batch=32)}   # same code paths, a fraction of the work


def _workload(name):
    return dataclasses.replace(wl.WORKLOADS[name], **SMALL.get(name, {}))


def _two_step_losses(workload, cls):
    weights = workload.make_weights()
    X, Y = workload.make_data()
    impl = cls(workload, weights, X, Y)
    start = impl.loss()
    return [start] + [impl.step() for _ in range(2)] + [impl.loss()]


@pytest.mark.parametrize("name", list(wl.WORKLOADS))
def test_minigrad_trains_like_the_numpy_reference(name):
    workload = _workload(name)
    reference = _two_step_losses(workload, wl.NumpyNet)
    losses = _two_step_losses(workload, wl.MinigradNet)
    assert reference[0] == pytest.approx(reference[1], rel=1e-12)   # loss() is step()'s loss
    assert reference[3] < reference[0]                               # the steps really train
    assert losses == pytest.approx(reference, rel=workload.rtol)


@pytest.mark.parametrize("name", list(wl.WORKLOADS))
def test_torch_trains_like_the_numpy_reference(name):
    if wl.torch_version() is None:
        pytest.skip("PyTorch is not installed (optional: pip install torch==2.13.0)")
    workload = _workload(name)
    reference = _two_step_losses(workload, wl.NumpyNet)
    assert _two_step_losses(workload, wl.TorchNet) == pytest.approx(reference, rel=workload.rtol)


def test_harness_produces_a_table():
    """The timing and table code run end to end on a tiny setting (the numbers are not checked)."""
    workload = wl.WORKLOADS["W2"]
    settings = dict(rounds=2, min_rounds=2, seconds_per_impl=1.0, block_seconds=0.002,
                    warmup_seconds=0.002, pause=0.0, max_wait=0.0)
    result = bench.run_workload(workload, [wl.NumpyNet, wl.MinigradNet], settings)
    assert set(result) == {"numpy", "minigrad"}
    assert all(r["agree"] for r in result.values())
    table = bench.format_table(bench.table_rows({"workloads": {"W2": result}}))
    assert "| W2" in table and "minigrad" in table


@pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc",
                    reason="the page-fault behaviour settle_allocator addresses is glibc's")
def test_settle_allocator_stops_the_page_faults_of_a_step_worth_of_buffers():
    # A W1 step holds about ten 7,000-row buffers (224 KB each) and frees them. In a fresh
    # process malloc gives the memory back to the system once that much is free, and the next
    # step faults it in again, page by page; after settle_allocator it keeps it. Counted in
    # subprocesses, so this process's own allocation history does not matter.
    script = f"""
import resource, sys
import numpy as np
sys.path.insert(0, {os.path.dirname(bench.__file__)!r})
import run
if sys.argv[1] == "settle":
    run.settle_allocator()

def step():
    buffers = [np.ones((7000, 4)) for _ in range(10)]
    del buffers

step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
    faults = {mode: int(subprocess.run([sys.executable, "-c", script, mode], capture_output=True,
                                       text=True, check=True, timeout=60).stdout)
              for mode in ("fresh", "settle")}
    pages = 20 * 10 * 224_000 // 4096
    assert faults["fresh"] > pages // 4        # most of the buffers' pages, faulted in again
    assert faults["settle"] < pages // 50
