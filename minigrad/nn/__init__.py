"""minigrad.nn: models as module classes, as in PyTorch.

    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    loss = nn.functional.cross_entropy(model(x), y)

`state_dict()` gives PyTorch's keys and shapes for the equivalent model.
Files: module (Parameter, Module), container, layers (Dense, Linear,
Dropout), activation, conv, pooling, normalization, sparse (Embedding),
loss, init, functional.
"""
from . import functional, init
from .activation import (ELU, GELU, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax,
                         Softsign, Tanh)
from .container import Flatten, ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d
from .layers import ACTIVATIONS, Dense, Dropout, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MSELoss, NLLLoss, SmoothL1Loss)
from .module import Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .sparse import Embedding
from . import utils

__all__ = ["Parameter", "Module", "Sequential", "ModuleList", "ModuleDict", "Flatten", "Dense",
           "Linear", "Dropout", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
           "Identity", "GELU", "ELU", "SiLU", "Softsign", "Conv1d", "Conv2d", "MaxPool2d",
           "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
           "Embedding", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
           "BCEWithLogitsLoss", "KLDivLoss", "CrossEntropyLoss", "NLLLoss", "ACTIVATIONS",
           "functional", "init", "utils"]
