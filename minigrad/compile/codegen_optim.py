"""The lines of an optimizer's step: each parameter's update called directly, or step() itself.

minigrad's optimizers keep their per-parameter math in `_update(param_array,
grad_array, state, group)` on plain numpy arrays. The replay calls it for
each parameter that had a gradient in the trace, with the group and the
state read from the optimizer at every call (a schedule that changes the
learning rate, or a load_state_dict, is seen); first `_verify_options()`
checks any option changed since the last step, as `step()` would. What the
trace proved (which parameters have a gradient, of which shape) is not
checked again. An optimizer that defines its own `step()` is replayed by
calling it, after the gradients are put back in `.grad`.

Which parameter groups there are is part of the trace's key (`structure`),
so `add_param_group` or a load_state_dict that replaces the groups traces
again. A group of plain SGD (no momentum or weight decay, also in the key)
is written out as `w -= lr * dw`; for a large parameter, block by block
(`subtract_scaled`), so the update needs no temporary of the parameter's size.
"""
from ..optim import SGD, Optimizer
from .program import BLOCK_BYTES, HELPERS

__all__ = ["emit_step", "run_step", "structure", "structure_of"]


def _inlined(optimizer):
    """True for an optimizer whose step() is Optimizer's: checks, then `_update` per parameter."""
    kind = type(optimizer)
    return isinstance(optimizer, Optimizer) and kind.step is Optimizer.step \
        and kind._update is not Optimizer._update


def structure(optimizer):
    """What shapes the lines of `optimizer`'s update (a change traces again)."""
    return structure_of(optimizer)(optimizer)


def structure_of(optimizer):
    """The function giving `structure(optimizer)` (chosen once: a call only reads attributes)."""
    return _groups if _inlined(optimizer) else _nothing


def _groups(optimizer):
    return tuple([(id(group), len(group["params"]), _plain_sgd(optimizer, group))
                  for group in optimizer.param_groups])


def _plain_sgd(optimizer, group):
    """True for a group of plain SGD (no momentum, no weight decay): its update is one line."""
    return type(optimizer) is SGD and not group["momentum"] and not group["weight_decay"] \
        and not group["maximize"]


def _nothing(optimizer):
    return ()


def emit_step(tr, optimizer):
    """Write `optimizer.step()` into the program of tracer `tr`."""
    o = tr._optimizer_name(optimizer)
    if not _inlined(optimizer):
        tr.sync_grads()   # the optimizer's own step reads .grad
        tr.emit(f"{o}.step()", None, pure=False)
        return
    updates = []
    for k, group in enumerate(optimizer.param_groups):
        for p in group["params"]:
            tr._watch(p)
            g = tr.grad_state.get(id(p))
            if g is not None:
                updates.append((k, p, g))
    if not updates:
        return
    tr.emit(f"# {type(optimizer).__name__} step: options checked and state read now, "
            "then each parameter's update", None)
    tr.step_lines.add(id(tr.lines[-1]))
    tr.emit(f"{o}._verify_options()", None, pure=False)
    update, state = tr.const(type(optimizer)._update, "update"), tr.fresh("state")
    tr.emit(f"{state} = {o}.state", state, pure=False)
    groups, rates = {}, {}
    for k, p, g in updates:
        if k not in groups:
            groups[k] = tr.fresh("group")
            tr.emit(f"{groups[k]} = {o}.param_groups[{k}]", groups[k], pure=False)
            if _plain_sgd(optimizer, optimizer.param_groups[k]):   # (part of the trace's key)
                rates[k] = tr.fresh("lr")
                tr.emit(f"{rates[k]} = {groups[k]}['lr']", rates[k], pure=False)
        if k in rates and p._data.nbytes >= 2 * BLOCK_BYTES:   # no temporary of its size
            tr.emit(f"subtract_scaled({tr.ref(p)}, {rates[k]}, {g})   # {tr.ref(p)} -= "
                    f"{rates[k]} * {g}, block by block", None, pure=False)
        elif k in rates:
            tr.emit(f"{tr.ref(p)} -= {rates[k]} * {g}", None, pure=False)
        else:
            tr.emit(f"{update}({tr.ref(p)}, {g}, {state}[{tr.const(p, 'param')}], {groups[k]})",
                    None, pure=False)
    # (A tensor's _base is set when it is made, so which ones view another is known now.)
    changed = tr.const(tuple(p for _, p, _ in updates if p._base is None), "updated")
    views = tuple(p for _, p, _ in updates if p._base is not None)
    views = f", {tr.const(views, 'updated_views')}" if views else ""
    tr.emit(f"note_changes({changed}{views})   # the in-place guard sees the update", None,
            pure=False)


def run_step(optimizer):
    """Run `optimizer.step()` while tracing as the replay will run it.

    A large parameter of a plain SGD group is updated block by block, as the
    replay's line does: the same numbers, and the tracing calls then need no
    temporary of the parameter's size either (their memory peak is this update).
    """
    if not _inlined(optimizer) or not any(_plain_sgd(optimizer, g) for g in optimizer.param_groups):
        optimizer.step()
        return
    plain = {id(group) for group in optimizer.param_groups if _plain_sgd(optimizer, group)}
    own_update, subtract_scaled = type(optimizer)._update, HELPERS["subtract_scaled"]

    def update(param, grad, state, group):
        if id(group) in plain and param.nbytes >= 2 * BLOCK_BYTES:
            subtract_scaled(param, group["lr"], grad)
        else:
            own_update(param, grad, state, group)
    optimizer._apply(update)
