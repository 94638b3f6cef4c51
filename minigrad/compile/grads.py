"""Following the leaves' `.grad` through a trace: what the program must write into them, and when.

A leaf's `.grad` at the call's start is an input of the program (read from
the leaf at every call); `zero_grad()` and `p.grad = ...` made by Python
between two hooks are noticed at the next hook (`_event`); a backward or a
step changes it. While `fn` runs, each `.grad` holds a traced view, so numpy
work on it (clipping by hand) is recorded; the walk and the optimizer get
the plain arrays back for the time they run.
"""
import weakref

import numpy as np

from .program import Line
from .traced import TracedArray

__all__ = ["GradFollowing"]


class GradFollowing:
    """The part of the Tracer that follows the leaves' `.grad` (see the module docstring)."""

    # -- the leaves' .grad ------------------------------------------------------------
    def leaves_known(self):
        return [t for t in self.keep_leaves]

    def _watch(self, leaf):
        """Follow `leaf.grad` from now on: its value at the call's start is an input of the program."""
        if id(leaf) in self.grad_state:
            return
        self.keep_leaves.append(leaf)
        g = leaf.grad
        self.grad_seen[id(leaf)] = g
        self.synced[id(leaf)] = True
        if g is None:
            self.grad_state[id(leaf)] = None
            return
        name = self.fresh("grad_in")
        self.lines.insert(0, Line(f"{name} = {self.leaf_object(leaf)}.grad", name))
        self.grad_state[id(leaf)] = self.register(name, g)
        self._taint(leaf)

    def _event(self):
        """Notice changes of the leaves' .grad made by Python code since the last hook (zero_grad)."""
        for leaf in self.leaves_known():
            g = leaf.grad
            if g is self.grad_seen[id(leaf)]:
                continue
            self.grad_seen[id(leaf)] = g
            self.synced[id(leaf)] = False
            if g is None:   # zero_grad()
                self.grad_state[id(leaf)] = None
                if leaf._data.nbytes >= 1 << 16:   # clear a large one now, to free it now too
                    self.emit(f"{self.leaf_object(leaf)}.grad = None", None, pure=False,
                              mutates=False)   # (a fallback's eager run clears it again)
                    self.synced[id(leaf)] = True
            else:
                self.grad_state[id(leaf)] = self.ref(g)
                self._taint(leaf)

    def _taint(self, leaf):
        g = leaf.grad
        if type(g) is np.ndarray and self.grad_state.get(id(leaf)) is not None:
            view = self.traced_view(g, self.grad_state[id(leaf)])
            self.grad_plain[view] = weakref.ref(g)
            leaf.grad = view
            self.grad_seen[id(leaf)] = view

    def _strip(self, leaf):
        g = leaf.grad
        if type(g) is TracedArray:
            original = self.grad_plain.get(g)
            original = original() if original is not None else None
            leaf.grad = original if original is not None else g.view(np.ndarray)
            self.grad_seen[id(leaf)] = leaf.grad

    def sync_grads(self):
        """Lines that give every leaf's .grad attribute its value in the program."""
        for leaf in self.leaves_known():
            if not self.synced[id(leaf)]:
                value = self.grad_state[id(leaf)]
                self.emit(f"{self.leaf_object(leaf)}.grad = {value}", None, pure=False)
                self.synced[id(leaf)] = True

    def finish(self):
        """End of the trace: plain arrays back in every .grad."""
        self._event()
        for leaf in self.leaves_known():
            self._strip(leaf)
