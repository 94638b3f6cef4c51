"""Dataset, TensorDataset and DataLoader: PyTorch's data-loading classes over numpy arrays.

    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
    for epoch in range(epochs):
        for X_batch, y_batch in loader:      # one epoch per iteration
            ...

With `shuffle`, each epoch draws a new order: from a generator seeded once
with `seed` when given (the same sequence of epochs on every run), else from
minigrad's generator (reproducible with `minigrad.manual_seed`). Batches are
numpy arrays, batch-first.
"""
import math
from collections.abc import Mapping

import numpy as np

from ..engine import Tensor
from ..validation import check_flag, check_positive_integer, check_seed
from .preprocessing import generator

__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate"]


class Dataset:
    """A sequence of samples: subclasses define `__len__` and `__getitem__(index)`."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} defines no __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} defines no __len__")


class TensorDataset(Dataset):
    """Samples from arrays of equal length: item i is (arrays[0][i], arrays[1][i], ...).

    Parameters:
        *arrays: numpy arrays, Tensors (their data is used) or nested lists,
            each with the samples along its first axis.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        converted = []
        for i, array in enumerate(arrays):
            try:
                array = np.asarray(array.data if isinstance(array, Tensor) else array)
            except ValueError as error:
                raise ValueError(f"TensorDataset: array {i} is not rectangular ({error})") from None
            if array.ndim == 0:
                raise ValueError(f"TensorDataset: array {i} is a single number, not samples")
            converted.append(array)
        lengths = [len(a) for a in converted]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: the arrays must hold the same number of samples, "
                             f"got shapes {[a.shape for a in converted]}")
        self.tensors = tuple(converted)

    def __getitem__(self, index):
        return tuple(array[index] for array in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


def default_collate(samples):
    """Stack a list of samples into a batch: tuples field by field, dicts key by key, else np.stack."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError(f"default_collate: samples have different numbers of fields "
                             f"({sorted({len(s) for s in samples})})")
        return type(first)(default_collate(list(field)) for field in zip(*samples)) \
            if isinstance(first, tuple) else [default_collate(list(f)) for f in zip(*samples)]
    if isinstance(first, Mapping):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    arrays = [np.asarray(s.data if isinstance(s, Tensor) else s) for s in samples]
    if any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError(f"default_collate: samples of different shapes cannot be stacked: "
                         f"{sorted({a.shape for a in arrays})} (pass a collate_fn)")
    return np.stack(arrays)


class DataLoader:
    """Mini-batches of a dataset; iterating it once is one epoch.

    Parameters:
        dataset: a Dataset (or anything with __len__ and __getitem__).
        batch_size: samples per batch (default 1); the last batch is smaller
            when it does not divide the dataset's length, unless drop_last.
        shuffle: a new random order every epoch (default False: in order).
        drop_last: drop the last, smaller batch.
        seed: seeds the generator of the shuffles once, at construction;
            None uses minigrad's generator (see minigrad.manual_seed).
        collate_fn: builds a batch from a list of samples (default:
            default_collate, which stacks them into arrays).
    An epoch that would yield no batch at all is refused when iteration starts.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 collate_fn=None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader takes a dataset with __len__ and __getitem__ (such as "
                            f"TensorDataset(X, y)), not a {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = check_positive_integer("batch_size", batch_size, "DataLoader")
        self.shuffle = check_flag("shuffle", shuffle, "DataLoader")
        self.drop_last = check_flag("drop_last", drop_last, "DataLoader")
        check_seed(seed, "DataLoader")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be a function of a list of samples, "
                            f"got {collate_fn!r}")
        self.seed = seed
        self.collate_fn = collate_fn
        self._generator = None if seed is None else generator(seed)

    def __len__(self):
        """The number of batches in an epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if len(self) == 0:
            raise ValueError(f"DataLoader: an epoch of {n} samples in batches of "
                             f"{self.batch_size}{' with drop_last' if self.drop_last else ''} "
                             "has no batch at all")
        if self.shuffle:
            order = (self._generator or generator(None)).permutation(n)
        else:
            order = np.arange(n)
        return self._batches(order, len(self) * self.batch_size if self.drop_last else n)

    def _batches(self, order, stop):
        fast = self.collate_fn is None and isinstance(self.dataset, TensorDataset)
        for start in range(0, stop, self.batch_size):
            indices = order[start:start + self.batch_size]
            if fast:   # one fancy-indexing per array instead of a stack of single samples
                yield tuple(array[indices] for array in self.dataset.tensors)
            else:
                samples = [self.dataset[int(i)] for i in indices]
                yield (self.collate_fn or default_collate)(samples)

    def __repr__(self):
        return (f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")
