"""minigrad.optim: PyTorch's optimizers, parameter groups, state dicts and learning-rate schedules.

    optimizer = optim.AdamW(model.parameters(), lr=1e-3)
    optimizer = optim.SGD([{"params": body.parameters()},
                           {"params": head.parameters(), "lr": 1e-2}], lr=1e-3, momentum=0.9)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=100)

optimizer.py holds the base class (groups, checks, state dicts); each
optimizer's update rule is in its own file; lr_scheduler.py the schedules.
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
