"""minigrad.nn: models as module classes, as in PyTorch.

    model = nn.Sequential(nn.Dense(2, 4, activation="relu"), nn.Dense(4, 3))
    loss = nn.functional.mse_loss(model(x), y)

`state_dict()` gives PyTorch's keys and shapes for the equivalent model.
"""
from . import functional, init
from .layers import (ACTIVATIONS, BCEWithLogitsLoss, CrossEntropyLoss, Dense, Dropout, Identity,
                     LeakyReLU, MSELoss, ReLU, Sigmoid, Softmax, Tanh)
from .module import Module, Parameter, Sequential

__all__ = ["Parameter", "Module", "Sequential", "Dense", "Dropout", "ReLU", "LeakyReLU",
           "Sigmoid", "Tanh", "Softmax", "Identity", "MSELoss", "CrossEntropyLoss",
           "BCEWithLogitsLoss", "ACTIVATIONS", "functional", "init"]
