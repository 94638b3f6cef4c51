"""Initial weights for Dense layers, by name.

Each initialiser takes (generator, in_features, out_features, bias) and returns
float64 arrays (weight of shape (out, in), bias of shape (out,) or None); the
layer casts them to its dtype, so a float32 model built from the same seed
holds the float64 model's weights rounded. All draws come from minigrad's
generator, so `minigrad.manual_seed(n)` makes them reproducible.
"""
import numpy as np

__all__ = ["he", "xavier", "small_normal", "INITIALIZERS", "resolve"]


def he(rng, in_features, out_features, bias):
    """He: weight and bias `randn * sqrt(2 / in_features)`, as document two does (for ReLU layers)."""
    scale = np.sqrt(2.0 / in_features)
    weight = rng.standard_normal((out_features, in_features)) * scale
    return weight, (rng.standard_normal(out_features) * scale if bias else None)


def xavier(rng, in_features, out_features, bias):
    """Xavier/Glorot uniform: weight ~ U(-a, a), a = sqrt(6 / (in + out)); zero bias (tanh, sigmoid)."""
    limit = np.sqrt(6.0 / (in_features + out_features))
    weight = rng.uniform(-limit, limit, size=(out_features, in_features))
    return weight, (np.zeros(out_features) if bias else None)


def small_normal(rng, in_features, out_features, bias):
    """Document one's `0.2 * randn` for weight and bias."""
    weight = 0.2 * rng.standard_normal((out_features, in_features))
    return weight, (0.2 * rng.standard_normal(out_features) if bias else None)


INITIALIZERS = {"he": he, "xavier": xavier, "small_normal": small_normal}


def resolve(name, where="init"):
    """The initialiser called `name` (any letter case); a clear error for anything else."""
    if not isinstance(name, str):
        hint = " (pass its name as a string)" if callable(name) else ""
        raise TypeError(f"{where}: init must be a name, one of {', '.join(INITIALIZERS)}; "
                        f"got {name!r} of type {type(name).__name__}{hint}")
    initializer = INITIALIZERS.get(name.lower())
    if initializer is None:
        raise ValueError(f"{where}: unknown init {name!r}; known names: {', '.join(INITIALIZERS)}")
    return initializer
