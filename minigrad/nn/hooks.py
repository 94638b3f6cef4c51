"""A module's forward hooks: registering them, and the call that runs them (Module inherits these).

Their handle is the engine's RemovableHandle. A module without hooks never
comes here: `Module.__call__` checks one attribute and calls forward.
"""
from ..engine import RemovableHandle, Tensor

__all__ = ["RemovableHandle", "ForwardHookMethods"]


class _ForwardHooks:
    """A module's hooks: `pre` run before forward, `post` after it, each in registration order."""
    __slots__ = ("pre", "post")

    def __init__(self):
        self.pre, self.post = [], []


class ForwardHookMethods:
    """The forward-hook methods of Module (a module keeps its hooks in `_call_hooks`)."""

    def _call_with_hooks(self, args, kwargs):
        hooks = self._call_hooks
        for hook in tuple(hooks.pre):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in tuple(hooks.post):
            result = hook(self, args, output)
            if result is not None:
                if isinstance(output, Tensor) and not isinstance(result, Tensor):
                    raise TypeError(
                        f"a forward hook of {type(self).__name__} returned a "
                        f"{type(result).__name__}; it must return None (to keep the output) or a "
                        f"Tensor to replace the output (make one with minigrad.Tensor(...), or an "
                        "op on the output, so gradients flow)")
                output = result
        return output

    def _add_hook(self, kind, hook):
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}.register_{kind}: the hook must be callable, "
                            f"got {hook!r} of type {type(hook).__name__}")
        hooks = self.__dict__.get("_call_hooks")
        if hooks is None:
            hooks = _ForwardHooks()
            object.__setattr__(self, "_call_hooks", hooks)
        registry = hooks.pre if kind == "forward_pre_hook" else hooks.post
        registry.append(hook)
        return RemovableHandle(registry, hook, on_remove=self._drop_empty_hooks)

    def _drop_empty_hooks(self):
        hooks = self.__dict__.get("_call_hooks")
        if hooks is not None and not hooks.pre and not hooks.post:
            del self.__dict__["_call_hooks"]   # back to the hook-free fast path

    def register_forward_hook(self, hook):
        """Call `hook(module, inputs, output)` after every forward; a returned value replaces the output.

        `inputs` is the tuple of positional arguments forward got (keyword
        arguments are not passed). Use it to inspect or record activations: a
        Dense layer's output is its activated output. (A hook on a Dense's
        `activation` submodule fires too: while it is hooked, the layer calls
        it instead of computing it inside its own node.) Returns a handle whose
        `.remove()` unregisters the hook.
        """
        return self._add_hook("forward_hook", hook)

    def register_forward_pre_hook(self, hook):
        """Call `hook(module, inputs)` before every forward; a returned value replaces the inputs.

        A returned tuple becomes the positional arguments; any other value the
        single argument. Returns a handle whose `.remove()` unregisters the hook.
        """
        return self._add_hook("forward_pre_hook", hook)
