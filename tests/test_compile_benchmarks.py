"""The benchmark's compiled implementation trains exactly like eager minigrad and the numpy reference.

Timing is never asserted (benchmarks/run.py reports it); this checks the
compiled rows measure a correct step. W4 runs at a reduced width.
"""
import dataclasses
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import workloads as wl  # noqa: E402  (benchmarks/workloads.py)

SMALL = {"W4": dict(sizes=(64, 128, 128, 10), batch=32)}


def _losses(workload, cls, steps=4):
    impl = cls(workload, workload.make_weights(), *workload.make_data())
    return [impl.step() for _ in range(steps)] + [impl.loss()]


@pytest.mark.parametrize("name", list(wl.WORKLOADS))
def test_compiled_trains_like_eager_and_the_numpy_reference(name):
    workload = dataclasses.replace(wl.WORKLOADS[name], **SMALL.get(name, {}))
    compiled = _losses(workload, wl.CompiledMinigradNet)
    eager = _losses(workload, wl.MinigradNet)
    assert compiled == pytest.approx(eager, rel=1e-12 if workload.rtol < 1e-5 else 1e-6)
    assert compiled == pytest.approx(_losses(workload, wl.NumpyNet), rel=workload.rtol)
