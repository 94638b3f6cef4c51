"""Checks of user input, each written once and called wherever it is needed.

Every layer of minigrad (the engine, ops, nn, optim, data, io) asks the same
few questions of what a user hands it: is this a real number, an integer, a
flag, an array of real numbers, finite, a probability? The answers and the
wording of the errors live here, so a rule changes in one place. This module
imports nothing from minigrad: it sits below the engine.
"""
import numpy as np

REAL_KINDS = "biuf"   # numpy dtype kinds minigrad computes with: bool, ints, unsigned, floats


def is_real_number(value):
    """True for a Python or numpy int or float; False for a bool (True + 1 is a bug, not a number)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def is_finite_number(value):
    """True for a real number (see is_real_number) that is neither NaN nor infinite."""
    return is_real_number(value) and bool(np.isfinite(value))


def is_integer(value):
    """True for a Python or numpy integer that is not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_flag(value):
    """True for True, False and numpy's bools."""
    return isinstance(value, (bool, np.bool_))


def has_real_dtype(array):
    """True when `array`'s dtype holds real numbers (bool, integer or float)."""
    return array.dtype.kind in REAL_KINDS


def non_finite_kind(values):
    """'NaN' or 'inf' if the float array `values` holds one (NaN named first), else None."""
    if values.dtype.kind != "f" or np.isfinite(values).all():
        return None
    return "NaN" if np.isnan(values).any() else "inf"


def first_non_finite(array):
    """'NaN at index (0, 1)' for the first NaN or inf of `array`, in words; None if all are finite."""
    bad = np.argwhere(~np.isfinite(array))
    if not len(bad):
        return None
    index = tuple(int(i) for i in bad[0])
    value = array[index]
    return f"{'NaN' if np.isnan(value) else value} at index {index}"


def check_flag(name, value, where):
    """Raise a TypeError unless `value` is True or False."""
    if not is_flag(value):
        raise TypeError(f"{where}: {name} must be True or False, got {value!r}")
    return bool(value)


def check_probability(p, where):
    """`p` as a float in [0, 1]; a TypeError or ValueError naming `where` otherwise."""
    if not is_real_number(p):
        raise TypeError(f"{where}: the probability p must be a number between 0 and 1, "
                        f"got {p!r} of type {type(p).__name__}")
    if not 0 <= p <= 1:   # NaN fails this too
        raise ValueError(f"{where} probability must be between 0 and 1, got {p}")
    return float(p)


def check_non_negative(name, value):
    """`value` as a float that is finite and >= 0 (a learning rate, a weight decay)."""
    if not is_real_number(value):
        raise TypeError(f"{name} must be a finite number >= 0, got {value!r} of type "
                        f"{type(value).__name__}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_positive_integer(name, value, where=None):
    """`value` as an int >= 1 (a batch size, a feature count)."""
    prefix = f"{where}: " if where else ""
    if not is_integer(value):
        raise TypeError(f"{prefix}{name} must be a positive integer, got {value!r} of type "
                        f"{type(value).__name__}")
    if value < 1:
        raise ValueError(f"{prefix}{name} must be a positive integer, got {value!r}")
    return int(value)


def check_seed(seed, where):
    """Raise unless `seed` is None or an integer >= 0."""
    if seed is None:
        return
    if not is_integer(seed):
        raise TypeError(f"{where}: seed must be None or a non-negative integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{where}: seed must be None or a non-negative integer, got {seed}")


def check_float_dtype(dtype, where):
    """`dtype` as a numpy floating dtype (for parameters); a TypeError naming `where` otherwise."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where}: dtype must be a floating dtype such as np.float64 or "
                        f"np.float32, got {dtype!r}") from None
    if dtype.kind != "f":
        raise TypeError(f"{where}: parameters must have a floating dtype, got {dtype}")
    return dtype


def loaded_array(key, value, shape, dtype, expects):
    """A state-dict entry as a fresh array of `shape` and `dtype`, or the problem with it.

    Returns (array, None) or (None, problem in words). `expects` says who wants
    the shape, for the message: "the model expects", "parameter 3 has".
    Values too large for `dtype` become inf here; callers that refuse
    non-finite values check the result with `first_non_finite`.
    """
    if hasattr(value, "grad_fn") and hasattr(value, "numpy"):   # a Tensor: its values
        value = value.numpy()
    try:
        value = np.asarray(value)
    except (TypeError, ValueError) as error:   # e.g. a ragged nested list
        return None, f"'{key}': not an array of numbers ({error})"
    if not has_real_dtype(value):
        return None, f"'{key}': values of dtype {value.dtype} are not real numbers"
    if value.shape != shape:
        return None, f"'{key}': {expects} shape {shape}, the state dict gives shape {value.shape}"
    with np.errstate(over="ignore"):
        return value.astype(dtype, copy=True), None   # a copy: never share the caller's memory


def refuse_if_problems(problems, action):
    """The 'check everything, then change nothing' rule: raise one ValueError listing `problems`.

    Callers collect every problem before changing any state and call this
    last; if it returns, they may apply the change.
    """
    if problems:
        raise ValueError(f"{action} failed; nothing was changed:\n  " + "\n  ".join(problems))
