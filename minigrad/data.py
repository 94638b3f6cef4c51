"""Data helpers on numpy arrays, batch-first (samples x features).

`StandardScaler` standardises each feature with the training set's mean and
standard deviation, as document two does; `train_test_split` and `batches`
split and mini-batch arrays. Shuffles use `seed` when given, else minigrad's
generator (so `minigrad.manual_seed(n)` makes them reproducible).
"""
import math

import numpy as np

from .random import get_generator

__all__ = ["StandardScaler", "train_test_split", "batches"]


def _as_2d(X, where):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{where} takes a 2-D array (samples x features), got shape {X.shape}; "
                         "reshape a single feature with X.reshape(-1, 1)")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{where} takes real numbers, got dtype {X.dtype}")
    return X


def _float(X):
    """Floats stay in their precision (float32 data stays float32); integers become float64."""
    return X if X.dtype.kind == "f" else X.astype(np.float64)


class StandardScaler:
    """Per feature: `(X - mean_) / scale_`, with mean and standard deviation of the data given to `fit`.

    Fit it on the training set only and apply it to the test set, so the test
    set leaks nothing into training (document two). A feature with zero
    variance gets scale 1 (as scikit-learn), so it is centred, not divided by 0.
    """

    def __init__(self):
        self.mean_ = None
        self.scale_ = None

    def fit(self, X):
        """Learn each feature's mean and standard deviation (population, ddof=0); returns self."""
        X = _float(_as_2d(X, "StandardScaler.fit"))
        if len(X) == 0:
            raise ValueError("StandardScaler.fit needs at least one sample, got an empty array")
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std == 0, 1, std).astype(X.dtype)
        return self

    @property
    def n_features_in_(self):
        return None if self.mean_ is None else len(self.mean_)

    def _checked(self, X, where):
        if self.mean_ is None:
            raise RuntimeError(f"StandardScaler.{where} before fit: call fit(X_train) first")
        X = _float(_as_2d(X, f"StandardScaler.{where}"))
        if X.shape[1] != len(self.mean_):
            raise ValueError(f"StandardScaler.{where}: the scaler was fitted on {len(self.mean_)} "
                             f"features, got an array of shape {X.shape} with {X.shape[1]}")
        return X

    def transform(self, X):
        """(X - mean_) / scale_, a new array."""
        return (self._checked(X, "transform") - self.mean_) / self.scale_

    def inverse_transform(self, X):
        """X * scale_ + mean_: back to the original units (e.g. un-standardised predictions)."""
        return self._checked(X, "inverse_transform") * self.scale_ + self.mean_

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def __repr__(self):
        fitted = "unfitted" if self.mean_ is None else f"{len(self.mean_)} features"
        return f"StandardScaler({fitted})"


def _check_pair(X, y, where):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{where}: X and y must be arrays of samples, got shapes {X.shape} "
                         f"and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"{where}: X has {len(X)} samples (shape {X.shape}) but y has {len(y)} "
                         f"(shape {y.shape})")
    return X, y


def _generator(seed):
    return get_generator() if seed is None else np.random.default_rng(seed)


def train_test_split(X, y, test_ratio=0.3, shuffle=True, seed=None):
    """Split samples into (X_train, X_test, y_train, y_test).

    The test set gets ceil(test_ratio * n) samples. Without shuffle, the first
    samples train and the last test (document two's 70% / 30%); with shuffle,
    a random permutation decides, from `seed` if given.
    """
    X, y = _check_pair(X, y, "train_test_split")
    if not 0 < test_ratio < 1:
        raise ValueError(f"test_ratio must be between 0 and 1 (exclusive), got {test_ratio}")
    n = len(X)
    n_test = math.ceil(round(test_ratio * n, 9))   # round first: 0.07 * 100 is 7.000000000000001
    if n_test == n:
        raise ValueError(f"test_ratio={test_ratio} of {n} samples leaves no training samples")
    order = _generator(seed).permutation(n) if shuffle else np.arange(n)
    train, test = order[:n - n_test], order[n - n_test:]
    return X[train], X[test], y[train], y[test]


def batches(X, y, batch_size, shuffle=True, seed=None, drop_last=False):
    """Yield (X_batch, y_batch) mini-batches covering every sample once (one epoch).

    The last batch is smaller when batch_size does not divide the number of
    samples (dropped with `drop_last`). Call it again for the next epoch; with a
    fixed `seed` every call gives the same order, so pass e.g. `seed=epoch`.
    """
    X, y = _check_pair(X, y, "batches")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    n = len(X)
    order = _generator(seed).permutation(n) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    return _batches(X, y, batch_size, order, stop)   # checked now, not at the first next()


def _batches(X, y, batch_size, order, stop):
    for start in range(0, stop, batch_size):
        if order is None:   # slices are views: no copy without shuffling
            yield X[start:start + batch_size], y[start:start + batch_size]
        else:
            index = order[start:start + batch_size]
            yield X[index], y[index]
