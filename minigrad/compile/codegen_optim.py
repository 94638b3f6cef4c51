"""The lines of an optimizer's step: SGD and Adam inlined, any other optimizer called.

Hyperparameters are read from the optimizer at every call (a schedule that
changes `optimizer.lr` is seen), and so is its state (`optimizer.state`,
replaced by load_state_dict): the momentum buffer and Adam's moments are
created on a parameter's first step and updated in place after, exactly as
`step()` does. Which terms the update has (momentum, Nesterov, weight decay)
is part of the trace's key (`structure`), so turning one on traces again.
"""
from .. import optim

__all__ = ["emit_step", "structure", "structure_of"]


def _inlined(optimizer):
    """True for the SGD and Adam whose update is written out here (one flat parameter list,
    `state` a list of per-parameter dicts); any other optimizer's own step() is called."""
    return (type(optimizer) in (optim.SGD, optim.Adam) and isinstance(optimizer.state, list)
            and not hasattr(optimizer, "param_groups"))


def structure(optimizer):
    """What shapes the lines of `optimizer`'s update (a change traces again)."""
    return structure_of(optimizer)(optimizer)


def structure_of(optimizer):
    """The function giving `structure(optimizer)` (chosen once: a call only reads attributes)."""
    if _inlined(optimizer) and type(optimizer) is optim.SGD:
        return _sgd_structure
    if _inlined(optimizer) and type(optimizer) is optim.Adam:
        return _adam_structure
    return _no_structure


def _sgd_structure(o):
    return (o.momentum != 0, o.nesterov, o.weight_decay != 0)


def _adam_structure(o):
    return (o.weight_decay != 0,)


def _no_structure(o):
    return ()


def emit_step(tr, optimizer):
    """Write `optimizer.step()` into the program of tracer `tr`."""
    o = tr._optimizer_name(optimizer)
    if not _inlined(optimizer):
        tr.sync_grads()   # the optimizer's own step reads .grad
        tr.emit(f"{o}.step()", None, pure=False)
        return
    updates = []
    for i, p in enumerate(optimizer.params):
        tr._watch(p)
        g = tr.grad_state[id(p)]
        if g is not None:
            updates.append((i, p, g))
    if not updates:
        return
    tr.emit(f"# {type(optimizer).__name__} step: hyperparameters and state as they are now", None)
    tr.step_lines.add(id(tr.lines[-1]))
    lr, S = tr.fresh("lr"), tr.fresh("state")
    if type(optimizer) is optim.SGD and not optimizer.momentum:
        tr.emit(f"{lr} = {o}._lr", lr, pure=False)
    else:
        tr.emit(f"{lr}, {S} = {o}._lr, {o}.state", (lr, S), pure=False)
    if type(optimizer) is optim.SGD:
        _sgd(tr, optimizer, o, lr, S, updates)
    else:
        _adam(tr, optimizer, o, lr, S, updates)
    changed = tr.const(tuple(p for _, p, _ in updates), "updated")
    tr.emit(f"note_changes({changed})   # the in-place guard sees the update", None, pure=False)


def _sgd(tr, optimizer, o, lr, S, updates):
    momentum, nesterov, decay = structure(optimizer)
    m, wd = tr.fresh("momentum"), tr.fresh("weight_decay")
    if momentum or decay:
        tr.emit(f"{m}, {wd} = {o}.momentum, {o}.weight_decay", (m, wd), pure=False)
    for i, p, g in updates:
        w = tr.ref(p)
        if decay:
            decayed = tr.fresh(g)
            tr.emit(f"{decayed} = {g} + {wd} * {w}", decayed, pure=False)
            g = decayed
        if momentum:
            b = tr.fresh(f"buffer_{w}")
            for text in (f"{b} = {S}[{i}].get('momentum_buffer')",
                         f"if {b} is None:",
                         f"    {b} = {S}[{i}]['momentum_buffer'] = {g}.copy()",
                         "else:",
                         f"    {b} *= {m}",
                         f"    {b} += {g}"):
                tr.emit(text, None, pure=False)
            if nesterov:
                step = tr.fresh(g)
                tr.emit(f"{step} = {g} + {m} * {b}", step, pure=False)
                g = step
            else:
                g = b
        tr.emit(f"{w} -= {lr} * {g}", None, pure=False)


def _adam(tr, optimizer, o, lr, S, updates):
    (decay,) = structure(optimizer)
    b1, b2, eps, wd = (tr.fresh(n) for n in ("beta1", "beta2", "eps", "weight_decay"))
    tr.emit(f"({b1}, {b2}), {eps}, {wd} = {o}.betas, {o}.eps, {o}.weight_decay",
            (b1, b2, eps, wd), pure=False)
    for i, p, g in updates:
        w = tr.ref(p)
        if decay:
            decayed = tr.fresh(g)
            tr.emit(f"{decayed} = {g} + {wd} * {w}", decayed, pure=False)
            g = decayed
        s, t, m, v, den = (tr.fresh(f"{n}_{w}") for n in ("s", "t", "m", "v", "den"))
        for text in (f"{s} = {S}[{i}]",
                     f"if not {s}:",
                     f"    {s}.update(step=0, exp_avg=np.zeros_like({w}), "
                     f"exp_avg_sq=np.zeros_like({w}))",
                     f"{s}['step'] += 1",
                     f"{t}, {m}, {v} = {s}['step'], {s}['exp_avg'], {s}['exp_avg_sq']",
                     f"{m} *= {b1}",
                     f"{m} += (1 - {b1}) * {g}",
                     f"{v} *= {b2}",
                     f"{v} += (1 - {b2}) * ({g} * {g})",
                     f"{den} = np.sqrt({v} / (1 - {b2} ** {t}))",
                     f"{den} += {eps}",
                     f"{w} -= ({lr} / (1 - {b1} ** {t})) * {m} / {den}"):
            tr.emit(text, None, pure=False)
