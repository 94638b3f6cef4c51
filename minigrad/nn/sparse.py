"""Embedding: a lookup table of vectors indexed by integers, PyTorch's arguments and keys."""
import numpy as np

from ..random import get_generator
from ..validation import is_integer
from . import functional as F
from .functional.normalization import _padding_index
from ..validation import check_float_dtype
from .module import Module, Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """`weight[indices]`: weight (num_embeddings, embedding_dim), drawn from N(0, 1) (PyTorch's).

    Row `padding_idx` (if given) starts at zero and receives no gradient, so
    it stays zero: the vector of a padding token.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=np.float64):
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not is_integer(value) or value < 1:
                raise ValueError(f"Embedding: {name} must be a positive integer, got {value!r}")
        dtype = check_float_dtype(dtype, "Embedding")
        if padding_idx is not None:
            padding_idx = _padding_index(padding_idx, num_embeddings, "Embedding")
        weight = get_generator().standard_normal((num_embeddings, embedding_dim))
        if padding_idx is not None:
            weight[padding_idx] = 0
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = padding_idx
        self.weight = Parameter(weight.astype(dtype))

    def forward(self, indices):
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"
