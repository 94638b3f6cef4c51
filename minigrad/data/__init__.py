"""minigrad.data: preparing numpy arrays and loading them in mini-batches, batch-first.

preprocessing.py: StandardScaler, train_test_split, batches (a generator of
(X, y) batches). loader.py: PyTorch's Dataset, TensorDataset and DataLoader.
"""
from .loader import DataLoader, Dataset, TensorDataset, default_collate
from .preprocessing import StandardScaler, batches, train_test_split

__all__ = ["StandardScaler", "train_test_split", "batches", "Dataset", "TensorDataset",
           "DataLoader", "default_collate"]
