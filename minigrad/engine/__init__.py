"""The engine: Tensor, Function, the backward walk, and the modes and guards around them.

- `modes.py`: no_grad, enable_grad, detect_anomaly: per-thread switches.
- `tensor.py`: Tensor, what a tensor is (its array, gradient, graph link).
- `function.py`: Function, the one mechanism every op goes through.
- `walk.py`: backward and grad(): seeding, undoing broadcasting, hooks, the loop.
- `outputs.py`: Functions with several outputs.
- `higher_order.py`: create_graph backwards, and first-order-only ones.
- `guards.py`: in-place detection with its clock, and anomaly mode.

Nothing here knows an op by name; `minigrad.ops` builds every op on Function.
"""
from .tensor import RemovableHandle, Tensor   # first: it imports the walk, which needs Tensor
from .function import Function, ViewFunction
from .guards import AnomalyError
from .higher_order import once_differentiable
from .modes import (detect_anomaly, enable_grad, is_anomaly_enabled, is_grad_enabled, no_grad,
                    set_grad_enabled)
from .walk import grad, graph_nodes

__all__ = ["Tensor", "Function", "ViewFunction", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "grad", "detect_anomaly", "is_anomaly_enabled", "AnomalyError", "graph_nodes",
           "RemovableHandle", "once_differentiable"]
