"""A module's forward hooks (see Module.register_forward_hook); their handle is the engine's."""
from ..engine import RemovableHandle

__all__ = ["RemovableHandle"]


class _ForwardHooks:
    """A module's hooks: `pre` run before forward, `post` after it, each in registration order."""
    __slots__ = ("pre", "post")

    def __init__(self):
        self.pre, self.post = [], []
