"""The guards: what makes a wrong gradient an error instead of a number.

Two concerns live here, each called by the walk at one named point:

- **In-place detection.** One clock numbers both the nodes (as they are
  created) and the in-place changes of tensors. A node's consumers all come
  after it, which orders the graph walk; and a node needs its saved arrays
  checked (`check_saved`) only if some change came after it, which in a
  training loop (forward, backward, then the optimizer's in-place step) is
  never.
- **Anomaly mode** (`detect_anomaly()`): the line of user code that called
  each op, checksums ("fingerprints") of the arrays it saved, and one
  finiteness check for everything that flows forward or backward.
"""
import itertools
import linecache
import os
import sys
import zlib

import numpy as np

from ..validation import non_finite_kind
from .modes import is_anomaly_enabled

__all__ = ["AnomalyError"]

clock = itertools.count(1)


class _Changes:
    """The clock readings of the latest in-place change of any tensor (process-wide)."""
    last = 0          # of any change: an in-place write, new .data, or a recorded in-place op
    last_rebind = 0   # of the latest recorded in-place op (Tensor._rebind)


changes = _Changes()


def note_change(tensor):
    """Record an in-place change of `tensor`'s array, for every op that saved that array.

    A change of a view (a slice, a reshape, a detached alias) is a change of
    the tensor it views too.
    """
    while tensor is not None:
        tensor._version += 1
        tensor._changed_at = changes.last = next(clock)
        if tensor._ctx is not None:   # the output of an op, which may have saved it
            tensor._ctx._mark_output_changed()
        tensor = tensor._base


def note_new_data(tensor):
    """Record that `tensor` got a new array (`t.data = ...`): the saved old one is intact."""
    tensor._version += 1
    tensor._changed_at = changes.last = next(clock)


def note_rebind():
    """Record a recorded in-place op (Tensor._rebind); returns its clock reading."""
    changes.last = changes.last_rebind = when = next(clock)
    return when


def resolve_inputs(node):
    """Swap each input a recorded in-place op has changed since `node` was made for its earlier self."""
    inputs = node.inputs
    if any(getattr(t, "_history", None) for t in inputs):
        node.inputs = tuple(t._as_of(node._seq) if getattr(t, "_history", None) else t
                            for t in inputs)


def check_node(node, create_graph):
    """Bring `node` up to date with what changed after it was made; raise if that breaks it.

    The walk calls this only when some change came after the node (or under
    detect_anomaly()). Inputs that a recorded in-place op changed since are
    swapped for their earlier selves; then an array the node saved must not
    have been changed in place: such changes through Tensor operators are seen
    by their clock reading, and under detect_anomaly() writes minigrad cannot
    see by their checksums.
    """
    if changes.last_rebind > node._seq:
        resolve_inputs(node)
    if node.saved_tensors and changes.last > node._seq:
        _check_versions(node, create_graph)
    if node._fingerprints is not None:   # after the check above, whose messages name the tensor
        _check_fingerprints(node)


def _check_versions(node, create_graph):
    op = type(node).__name__
    saved = node.saved_tensors
    for i, t in enumerate(node.inputs):
        if not hasattr(t, "_changed_at") or _latest_change(t) < node._seq:
            continue
        if any(value is t._data for value in saved):
            raise RuntimeError(
                f"{t._describe()} (input {i} of {op}) was changed in place after {op} saved "
                f"it for backward (it is at version {t._version} now), so its gradient would "
                "be wrong; change a copy instead, or do the in-place update after backward()"
                + where(node))
        if create_graph:   # a new array: the saved old one can no longer be tied to the tensor
            raise RuntimeError(
                f"{t._describe()} (input {i} of {op}) got new .data after {op} used it, so a "
                "create_graph backward cannot differentiate through its old value; assign "
                ".data after computing the gradients" + where(node))
    if node._output_changed and any(role is not None and role < 0 for role in node._saved_roles):
        raise RuntimeError(
            f"the output of {op} was changed in place after {op} saved it for backward, so its "
            "gradient would be wrong; change a copy instead (y = y * 2 rather than y *= 2)"
            + where(node))


def _latest_change(tensor):
    """The clock reading of the latest change of `tensor`'s memory: its own, or of a tensor it views."""
    latest = 0
    while tensor is not None:
        latest = max(latest, tensor._changed_at)
        tensor = tensor._base
    return latest


OUTPUT = -1   # the role of a saved array that is the node's output (inputs are 0, 1, ...)


# -- anomaly mode ------------------------------------------------------------------------

class AnomalyError(FloatingPointError):
    """A NaN or inf appeared under detect_anomaly()."""


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_line():
    """'file:line: code' of the innermost caller outside the minigrad package."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR + os.sep):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}: {code}"


def where(node):
    """Where `node`'s op was called, for an error message (known under detect_anomaly())."""
    if node._trace:
        return f"\n  the op was called at {node._trace}"
    if is_anomaly_enabled():
        return ("\n  (its forward ran outside detect_anomaly(); run the forward inside it too to "
                "see the line that called the op)")
    return ""


def _fingerprint(array):
    return zlib.crc32(np.ascontiguousarray(array))


def watch_forward(node, out):
    """Under detect_anomaly(): note the calling line, checksum the saved arrays, check `out`."""
    node._trace = user_line()
    # Writes into t.data[...] or t.numpy() bypass the version counters; a checksum of
    # each saved array, compared at backward, catches them while the mode is on.
    node._fingerprints = [(i, _fingerprint(a)) for i, a in enumerate(node.saved_tensors)
                          if isinstance(a, np.ndarray)]
    check_finite(out, f"{type(node).__name__}.forward produced", f"\n  the op was called at "
                 f"{node._trace}", noun="an output of shape")


def _check_fingerprints(node):
    for i, checksum in node._fingerprints:
        array = node.saved_tensors[i]
        if _fingerprint(array) != checksum:
            op = type(node).__name__
            raise RuntimeError(
                f"an array of shape {array.shape} that {op} saved for backward was changed in "
                "place after forward, by a write minigrad cannot see (t.data[...] = ... or "
                f"t.numpy()[...]), so its gradient would be wrong" + where(node))


def check_finite(values, source, suffix="", noun=None):
    """Raise AnomalyError if `values` (an array, number or Tensor) holds NaN or inf.

    The message reads "<source> <NaN|inf> in <noun> <shape>" when `noun` is
    given, else "<source> contains <NaN|inf> (shape <shape>)"; `suffix` follows.
    """
    values = getattr(values, "_data", values)
    values = np.asarray(values)
    bad = non_finite_kind(values)
    if bad is None:
        return
    if noun is None:
        raise AnomalyError(f"{source} contains {bad} (shape {values.shape}){suffix}")
    raise AnomalyError(f"{source} {bad} in {noun} {values.shape}{suffix}")


def check_input_gradients(node, grads):
    """Under detect_anomaly(): raise if a gradient `node`'s backward returned holds NaN or inf."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        values = np.asarray(getattr(g, "_data", g))
        bad = non_finite_kind(values)
        if bad is not None:
            raise AnomalyError(f"{type(node).__name__}.backward produced {bad} in the gradient "
                               f"of input {i} (shape {values.shape})" + where(node))
