"""The package's random generator: parameter initialisation, Dropout masks, data shuffling.

One numpy Generator for all of minigrad, so `manual_seed(n)` alone makes a
run reproducible: two runs with the same seed build identical weights, draw
identical dropout masks and shuffle identically. Engine layer: imports numpy
only.
"""
import numpy as np

from .validation import is_integer

__all__ = ["manual_seed", "get_generator"]

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reseed minigrad's generator with the integer `seed`; returns the new generator."""
    global _generator
    if not is_integer(seed) or seed < 0:
        raise ValueError(f"manual_seed takes a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def get_generator():
    """The generator every random draw in minigrad uses (a `numpy.random.Generator`)."""
    return _generator
