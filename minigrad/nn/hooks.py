"""A module's forward hooks and the handle that removes one (see Module.register_forward_hook)."""

__all__ = ["RemovableHandle"]


class _ForwardHooks:
    """A module's hooks: `pre` run before forward, `post` after it, each in registration order."""
    __slots__ = ("pre", "post")

    def __init__(self):
        self.pre, self.post = [], []


class RemovableHandle:
    """Returned by the register_*_hook methods: `.remove()` unregisters the hook (also as `with`)."""

    def __init__(self, module, registry, hook):
        self._module, self._registry, self._hook = module, registry, hook

    def remove(self):
        """Unregister the hook; removing it twice does nothing."""
        if self._registry is None:
            return
        registry, self._registry = self._registry, None
        for i, hook in enumerate(registry):
            if hook is self._hook:
                del registry[i]
                break
        hooks = self._module.__dict__.get("_call_hooks")
        if hooks is not None and not hooks.pre and not hooks.post:
            del self._module.__dict__["_call_hooks"]   # back to the hook-free fast path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
