"""Preparing numpy arrays, batch-first (samples x features): scaling, splitting, mini-batches.

`StandardScaler` standardises each feature with the training set's mean and
standard deviation, as document two does; `train_test_split` and `batches`
split and mini-batch arrays. Shuffles use `seed` when given, else minigrad's
generator (so `minigrad.manual_seed(n)` makes them reproducible).
"""
import math

import numpy as np

from ..random import get_generator
from ..validation import (check_flag, check_positive_integer, check_seed, has_real_dtype,
                          is_real_number)

__all__ = ["StandardScaler", "train_test_split", "batches"]


def _as_array(X, where, name="X"):
    try:
        return np.asarray(X)
    except ValueError as error:   # a ragged nested list
        raise ValueError(f"{where}: {name} is not a rectangular array ({error})") from None


def _as_2d(X, where):
    X = _as_array(X, where)
    if X.ndim != 2:
        raise ValueError(f"{where} takes a 2-D array (samples x features), got shape {X.shape}; "
                         "reshape a single feature with X.reshape(-1, 1)")
    if not has_real_dtype(X):
        raise TypeError(f"{where} takes real numbers, got dtype {X.dtype}")
    return X


def _check_finite(X, where):
    """Refuse NaN and inf, naming the first one, as scikit-learn does: a mean of NaN is NaN."""
    finite = np.isfinite(X)
    if not finite.all():
        row, column = (int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(f"{where}: X holds {X[row, column]} at row {row}, feature {column}; "
                         "remove or impute missing values first")


def _float(X):
    """Floats stay in their precision (float32 data stays float32); integers become float64."""
    return X if X.dtype.kind == "f" else X.astype(np.float64)


class StandardScaler:
    """Per feature: `(X - mean_) / scale_`, with mean and standard deviation of the data given to `fit`.

    Fit it on the training set only and apply it to the test set, so the test
    set leaks nothing into training (document two). A feature with zero
    variance gets scale 1 (as scikit-learn), so it is centred, not divided by 0.
    NaN or inf in X is refused, naming the first one: a mean of NaN is NaN.
    """

    def __init__(self):
        self.mean_ = None
        self.scale_ = None

    def fit(self, X):
        """Learn each feature's mean and standard deviation (population, ddof=0); returns self."""
        X = _float(_as_2d(X, "StandardScaler.fit"))
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"StandardScaler.fit needs at least one sample and one feature, got "
                             f"an array of shape {X.shape}")
        _check_finite(X, "StandardScaler.fit")
        # Statistics in float64, so float32 data near its largest values does not overflow.
        mean = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        mean, scale = mean.astype(X.dtype), np.where(std == 0, 1, std).astype(X.dtype)
        if not (np.isfinite(mean).all() and np.isfinite(scale).all()):
            raise ValueError(f"StandardScaler.fit: the features' mean or standard deviation "
                             f"overflows {X.dtype}; convert X to float64 first")
        self.mean_, self.scale_ = mean, scale   # only now: a refused fit leaves the scaler as it was
        return self

    @property
    def n_features_in_(self):
        """The number of features seen by `fit` (None before it), as scikit-learn names it."""
        return None if self.mean_ is None else len(self.mean_)

    def _checked(self, X, where):
        if self.mean_ is None:
            raise RuntimeError(f"StandardScaler.{where} before fit: call fit(X_train) first")
        X = _float(_as_2d(X, f"StandardScaler.{where}"))
        if X.shape[1] != len(self.mean_):
            raise ValueError(f"StandardScaler.{where}: the scaler was fitted on {len(self.mean_)} "
                             f"features, got an array of shape {X.shape} with {X.shape[1]}")
        _check_finite(X, f"StandardScaler.{where}")
        return X

    def transform(self, X):
        """(X - mean_) / scale_, a new array."""
        return (self._checked(X, "transform") - self.mean_) / self.scale_

    def inverse_transform(self, X):
        """X * scale_ + mean_: back to the original units (e.g. un-standardised predictions)."""
        return self._checked(X, "inverse_transform") * self.scale_ + self.mean_

    def fit_transform(self, X):
        """fit(X), then transform(X)."""
        return self.fit(X).transform(X)

    def __repr__(self):
        fitted = "unfitted" if self.mean_ is None else f"{len(self.mean_)} features"
        return f"StandardScaler({fitted})"


def _check_pair(X, y, where):
    X, y = _as_array(X, where, "X"), _as_array(y, where, "y")
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{where}: X and y must be arrays of samples, got shapes {X.shape} "
                         f"and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"{where}: X has {len(X)} samples (shape {X.shape}) but y has {len(y)} "
                         f"(shape {y.shape})")
    return X, y


def generator(seed):
    """A numpy Generator from `seed`, or minigrad's generator (see manual_seed) for None."""
    return get_generator() if seed is None else np.random.default_rng(seed)


def train_test_split(X, y, test_ratio=0.3, shuffle=True, seed=None):
    """Split samples into (X_train, X_test, y_train, y_test).

    The test set gets ceil(test_ratio * n) samples. Without shuffle, the first
    samples train and the last test (document two's 70% / 30%); with shuffle,
    a random permutation decides, from `seed` if given.
    """
    X, y = _check_pair(X, y, "train_test_split")
    if not is_real_number(test_ratio):
        raise TypeError(f"test_ratio must be a number between 0 and 1 (exclusive), got "
                        f"{test_ratio!r}")
    if not 0 < test_ratio < 1:
        raise ValueError(f"test_ratio must be between 0 and 1 (exclusive), got {test_ratio}")
    check_flag("shuffle", shuffle, "train_test_split")
    check_seed(seed, "train_test_split")
    n = len(X)
    if n < 2:
        raise ValueError(f"train_test_split needs at least 2 samples (one to train, one to "
                         f"test), got {n}")
    n_test = math.ceil(round(test_ratio * n, 9))   # round first: 0.07 * 100 is 7.000000000000001
    if n_test == n:
        raise ValueError(f"test_ratio={test_ratio} of {n} samples leaves no training samples")
    order = generator(seed).permutation(n) if shuffle else np.arange(n)
    train, test = order[:n - n_test], order[n - n_test:]
    return X[train], X[test], y[train], y[test]


def batches(X, y, batch_size, shuffle=True, seed=None, drop_last=False):
    """Yield (X_batch, y_batch) mini-batches covering every sample once (one epoch).

    The last batch is smaller when batch_size does not divide the number of
    samples (dropped with `drop_last`). An epoch that would yield no batch at
    all (no samples, or drop_last with batch_size above their number) is
    refused. Call it again for the next epoch; with a fixed `seed` every call
    gives the same order, so pass e.g. `seed=epoch`.
    """
    X, y = _check_pair(X, y, "batches")
    check_positive_integer("batch_size", batch_size)
    check_flag("shuffle", shuffle, "batches")
    check_flag("drop_last", drop_last, "batches")
    check_seed(seed, "batches")
    n = len(X)
    if n == 0:   # an epoch of no batches would train on nothing, silently
        raise ValueError(f"batches: X and y hold no samples (X has shape {X.shape})")
    if drop_last and batch_size > n:
        raise ValueError(f"batches: with drop_last=True, a batch_size of {batch_size} for "
                         f"{n} samples gives no batch at all")
    order = generator(seed).permutation(n) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    return _batches(X, y, batch_size, order, stop)   # checked now, not at the first next()


def _batches(X, y, batch_size, order, stop):
    for start in range(0, stop, batch_size):
        if order is None:   # slices are views: no copy without shuffling
            yield X[start:start + batch_size], y[start:start + batch_size]
        else:
            index = order[start:start + batch_size]
            yield X[index], y[index]
