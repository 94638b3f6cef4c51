"""The Optimizer base class: parameter groups, per-parameter state, `step()`, state dicts.

As in PyTorch, an optimizer holds `param_groups`, a list of dicts: each has
"params" (a list of Tensors) and every option of the optimizer ("lr",
"weight_decay", ...), so groups may train with different settings.
`defaults` holds the options given to the constructor; a group given without
an option takes it from there. `state[p]` is a dict of buffers per parameter
("step", "exp_avg", "momentum_buffer", ...: PyTorch's names).

`step()` first checks every group's options and every gradient (its shape
must be the parameter's), then updates. Nothing changes on an error. Each
optimizer's update is a plain function of numpy arrays,
`_update(param, grad, state, group)`, which changes `param` and the state's
arrays in place and reads its options from `group` at call time.

`state_dict()` has PyTorch's layout:

    {"state": {0: {"step": 3, "exp_avg": array, ...}, ...},
     "param_groups": [{"lr": 0.01, ..., "params": [0, 1, 2]}, ...]}

Parameters are numbered across groups in order; `minigrad.save` stores this
nesting (integer keys, lists and tuples included) and `minigrad.load` gives it
back, so `opt.load_state_dict(minigrad.load(path))` works directly.
"""
import operator
from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from ..engine.modes import current_tracer
from ..engine import enable_grad
from ..engine.guards import note_change
from ..validation import (check_flag, first_non_finite, has_real_dtype, is_integer, loaded_array,
                          refuse_if_problems)
from .checks import as_groups, checked_params, learning_rate, plain, scheduler_value

__all__ = ["Optimizer", "SCHEDULER_KEYS"]

# Keys a learning-rate scheduler writes into a group (PyTorch's names); allowed in every group.
SCHEDULER_KEYS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")
# PyTorch's implementation switches (no effect on the numbers); a loaded group may carry them
# with their "off" values, which are dropped.
_TORCH_SWITCHES = ("foreach", "capturable", "differentiable", "fused")


class Optimizer:
    """Base class of the optimizers: parameter groups, `state`, `step()`, `zero_grad()`, state dicts.

    Subclasses set `option_checks` ({option name: check returning its normal
    form}), `state_names` (every buffer name the optimizer may keep), and define
    `_update(param, grad, state, group)` (a staticmethod on numpy arrays),
    `_required_state(group)` (the buffer names a stepped parameter has) and,
    if options constrain each other, `_check_group(group)`.

    Parameters:
        params: an iterable of Tensors (model.parameters()) or of dicts, each
            {"params": tensors, option: value, ...} (a parameter group).
        defaults: {option: value} for groups that do not set the option.
    """
    option_checks = {"lr": learning_rate}
    state_names = ()

    def __init__(self, params, defaults):
        self.defaults = self._checked_options(defaults, "the optimizer's defaults")
        self.state = defaultdict(dict)   # parameter -> {buffer name: array or int}
        self.param_groups = []
        for group in as_groups(params):
            self.add_param_group(group)

    # -- groups -----------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group {"params": tensors, option: value, ...}; missing options come from `defaults`.

        Every parameter and option is checked before the group is added: a
        non-Tensor, a non-leaf, a parameter already in a group, an unknown or
        bad option raises and leaves the optimizer as it was.
        """
        if not isinstance(param_group, Mapping):
            raise TypeError(f"a parameter group is a dict {{'params': ..., option: value}}, "
                            f"not a {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"a parameter group needs the key 'params', got only "
                             f"{sorted(map(str, param_group))}")
        where = f"parameter group {len(self.param_groups)}"
        first = sum(len(group["params"]) for group in self.param_groups)
        params = checked_params(param_group["params"], where, first)
        taken = {id(p) for group in self.param_groups for p in group["params"]}
        for i, p in enumerate(params, start=first):
            if id(p) in taken:
                raise ValueError(f"parameter {i} of shape {p.shape} is already in another "
                                 "parameter group (some parameters appear in more than one "
                                 "parameter group)")
        options = {key: value for key, value in param_group.items() if key != "params"}
        group = self._checked_options({**self.defaults, **options}, where)
        group["params"] = params
        self.param_groups.append(group)
        self._new_group(group)

    def _new_group(self, group):
        """Called when a group is added (Adagrad fills its accumulators here, as PyTorch does)."""

    def _checked_options(self, options, where):
        """`options` checked and normalised; an unknown or bad option raises, naming `where`."""
        checked = {}
        for key, value in options.items():
            check = self.option_checks.get(key)
            if check is None and key in SCHEDULER_KEYS:
                check = scheduler_value(key)
            if check is None:
                raise ValueError(f"{where}: unknown option {key!r} for {type(self).__name__}; its "
                                 f"options are {', '.join(self.option_checks)}")
            try:
                checked[key] = check(plain(value))
            except (TypeError, ValueError) as error:
                raise type(error)(f"{where}: {error}") from None
        missing = [key for key in self.option_checks if key not in checked]
        if missing:
            raise ValueError(f"{where}: missing option(s) {', '.join(map(repr, missing))}")
        self._check_group(checked, where)
        return checked

    def _check_group(self, group, where):
        """Checks between options of one group (Nesterov needs momentum); none by default."""

    # -- the learning rate, for one-group optimizers -------------------------------------------
    @property
    def lr(self):
        """The learning rate of every group (they must agree); assigning sets every group's."""
        rates = [group["lr"] for group in self.param_groups]
        if any(rate != rates[0] for rate in rates):
            raise ValueError(f"the parameter groups have different learning rates {rates}; "
                             "read optimizer.param_groups[i]['lr'] instead")
        return rates[0]

    @lr.setter
    def lr(self, value):
        value = learning_rate(plain(value))
        for group in self.param_groups:
            group["lr"] = value

    # -- training -------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Set every parameter's `.grad` to None (PyTorch's default), or to zeros if not set_to_none."""
        if set_to_none is not True:
            set_to_none = check_flag("set_to_none", set_to_none, "zero_grad")
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad = None if set_to_none else np.zeros_like(p.data)

    def step(self, closure=None):
        """Update every parameter that has a `.grad`, in place; a parameter whose .grad is None is skipped.

        Every group's options and every gradient are checked first (a gradient
        must have its parameter's shape); on any problem a ValueError lists them
        all and no parameter or buffer has changed. `closure`, if given, is
        called first with grad mode on (it re-evaluates the loss); its result is
        returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        tracer = current_tracer()   # compile: minigrad.compile records the update, then runs it
        if tracer is not None and tracer.record_step(self):
            return loss
        self._apply(self._update)
        return loss

    def _apply(self, update):
        """The body of step(): check everything, then `update(param array, grad, state, group)` each
        parameter with a gradient (minigrad.compile's trace passes an update of its own)."""
        converted = self._checked_gradients()   # raises, changing nothing, on any problem
        state = self.state
        # No grad mode switch is needed: the updates work on numpy arrays, never on Tensors.
        for group in self.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                if converted is not None:
                    grad = converted.get(param, grad)
                # The parameter's own array, changed in place (this runs for every parameter
                # at every step, so not through the .data property), and the change noted
                # for the in-place guard.
                update(param._data, grad, state[param], group)
                note_change(param)

    def _checked_gradients(self):
        """Check every group's options and every gradient before a step; raise if any is bad.

        Returns None, or {parameter: its gradient as an array of its dtype} for
        the gradients that were not one already (a float64 .grad of a float32
        parameter).
        """
        problems, converted = [], None
        apply_options = self._checked_groups(problems)
        for group in self.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                data = param._data
                if type(grad) is not np.ndarray or grad.dtype is not data.dtype \
                        or grad.shape != data.shape:   # not the usual case: look closer
                    if converted is None:
                        converted = {}
                    converted[param] = self._conformed_gradient(param, grad, problems)
        refuse_if_problems(problems, f"{type(self).__name__}.step()")
        if apply_options is not None:
            apply_options()
        return converted

    def _conformed_gradient(self, param, grad, problems):
        """`param`'s .grad as an array of its dtype, or a problem added to `problems`."""
        grad = np.asarray(grad)
        if grad.shape != param.shape or not has_real_dtype(grad):
            index = 0
            for group in self.param_groups:
                for other in group["params"]:
                    if other is param:
                        break
                    index += 1
                else:
                    continue
                break
            problems.append(f"parameter {index} has shape {param.shape} but its .grad has "
                            f"shape {grad.shape}" if grad.shape != param.shape else
                            f"parameter {index}'s .grad has dtype {grad.dtype}, not real numbers")
            return grad
        return grad.astype(param.dtype, copy=False)

    def _checked_groups(self, problems):
        """Check the options of every group changed since the last step.

        Problems are appended to `problems`. Returns None when every group holds
        the very option objects checked last time; otherwise a function that
        (called only when there are no problems) stores the options in their
        normal form (a betas list becomes a tuple) and remembers them as checked.
        """
        verified = self.__dict__.setdefault("_verified_options", {})
        normalised = []
        for number, group in enumerate(self.param_groups):
            seen = verified.get(number)
            if seen is not None and seen[0] is group and len(seen[1]) == len(group) \
                    and all(map(operator.is_, seen[1], group.values())):
                continue   # the very objects checked last time: nothing to check again
            options = {k: v for k, v in group.items() if k != "params"}
            if seen is None or not _same(seen[2], options):   # changed: check again
                try:
                    normalised.append((number, group, self._checked_options(
                        options, f"parameter group {number}")))
                except (TypeError, ValueError) as error:
                    problems.append(str(error))
            else:
                normalised.append((number, group, seen[2]))   # equal values, new objects
        if not normalised:
            return None

        def apply_options():
            for number, group, checked in normalised:
                group.update(checked)
                verified[number] = (group, tuple(group.values()), checked)
        return apply_options

    def _verify_options(self):
        """Check the groups' options (changed since the last step) without a step; raise if bad.

        minigrad.compile's replay of step() calls this, then each parameter's `_update`.
        """
        problems = []
        apply_options = self._checked_groups(problems)
        refuse_if_problems(problems, f"{type(self).__name__}.step()")
        if apply_options is not None:
            apply_options()

    @staticmethod
    def _update(param, grad, state, group):
        """Change the numpy array `param` (and `state`'s buffers) in place, given `grad`."""
        raise NotImplementedError("this optimizer defines no update rule (_update)")

    def _required_state(self, group):
        """The buffer names every stepped parameter of `group` keeps."""
        return set(self.state_names)

    def _check_buffer(self, name, value):
        """A problem with a loaded buffer, in words, or None."""
        return None

    # -- state dicts ----------------------------------------------------------------------------
    def state_dict(self):
        """{"state": {index: {buffer: copy}}, "param_groups": [{option: value, "params": [index]}]}.

        PyTorch's layout and key names. Parameters are numbered across groups
        in order; a parameter without state (never stepped) has no entry.
        Arrays are copies: a state taken now does not change as training goes on.
        """
        groups, state, index = [], {}, 0
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = list(range(index, index + len(group["params"])))
            for param in group["params"]:
                buffers = self.state.get(param)
                if buffers:
                    state[index] = {name: value.copy() if isinstance(value, np.ndarray) else value
                                    for name, value in buffers.items()}
                index += 1
            groups.append(packed)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and buffers from `state_dict()`'s output (or `minigrad.load` of it).

        The state must be for the same number of groups, each with the same
        number of parameters of the same shapes. Every key, option, shape and
        value is checked first; on any problem a ValueError lists them all and
        the optimizer is left untouched. Buffers are copied, cast to their
        parameter's dtype. State indices may be ints or digit strings.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict takes a mapping, not a {type(state_dict).__name__}")
        action = f"load_state_dict into {type(self).__name__}"
        problems = [f"unexpected key {key!r}" for key in state_dict
                    if key not in ("state", "param_groups")]
        problems += [f"missing key {key!r}" for key in ("state", "param_groups")
                     if key not in state_dict]
        refuse_if_problems(problems, action)
        params = [p for group in self.param_groups for p in group["params"]]
        new_groups = self._loaded_groups(state_dict["param_groups"], problems)
        new_state = self._loaded_state(state_dict["state"], params, problems)
        if not problems:
            owner = {id(p): new for group, new in zip(self.param_groups, new_groups)
                     for p in group["params"]}
            by_id = {id(p): i for i, p in enumerate(params)}
            for param, buffers in new_state.items():
                needed = self._required_state(owner[id(param)])
                if not needed <= set(buffers):
                    problems.append(f"the state of parameter {by_id[id(param)]} has "
                                    f"{sorted(buffers)}; it needs all of {sorted(needed)}")
        refuse_if_problems(problems, action)
        for group, options in zip(self.param_groups, new_groups):
            params_of_group = group["params"]
            group.clear()
            group.update(options)
            group["params"] = params_of_group
        self.state = defaultdict(dict, new_state)

    def _loaded_groups(self, saved_groups, problems):
        """The options of each saved group, checked; problems appended to `problems`."""
        if isinstance(saved_groups, Mapping) and all(_index(k) is not None for k in saved_groups):
            saved_groups = [saved_groups[k] for k in sorted(saved_groups, key=_index)]
        if not isinstance(saved_groups, (list, tuple)):
            problems.append(f"'param_groups' must be a list of dicts, got a "
                            f"{type(saved_groups).__name__}")
            return []
        if len(saved_groups) != len(self.param_groups):
            problems.append(f"the state dict has {len(saved_groups)} parameter groups, this "
                            f"optimizer has {len(self.param_groups)}")
            return []
        new_groups, first = [], 0
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            where = f"'param_groups.{number}'"
            count = len(group["params"])
            if not isinstance(saved, Mapping):
                problems.append(f"{where}: a parameter group is a dict, got a "
                                f"{type(saved).__name__}")
                continue
            indices = saved.get("params")
            if isinstance(indices, np.ndarray):
                indices = indices.tolist()
            expected = list(range(first, first + count))
            if not isinstance(indices, (list, tuple)):
                problems.append(f"{where}: 'params' must be a list of parameter indices, got "
                                f"{type(indices).__name__}")
            elif len(indices) != count:
                problems.append(f"{where} has {len(indices)} parameters in the state dict; this "
                                f"optimizer's group {number} has {count}")
            elif [_index(i) for i in indices] != expected:
                problems.append(f"{where}: its 'params' are {list(indices)}, expected {expected} "
                                "(parameters are numbered across the groups in order)")
            first += count
            options = {key: value for key, value in saved.items() if key != "params"
                       and not (key in _TORCH_SWITCHES and not plain(value))}
            unknown = [key for key in options
                       if key not in self.option_checks and key not in SCHEDULER_KEYS]
            missing = [key for key in self.option_checks if key not in options]
            problems += [f"{where}: unexpected key {key!r}" for key in unknown]
            problems += [f"{where}: missing key {key!r}" for key in missing]
            if unknown or missing:
                continue
            try:
                new_groups.append(self._checked_options(options, where))
            except (TypeError, ValueError) as error:
                problems.append(str(error))
        return new_groups

    def _loaded_state(self, saved_state, params, problems):
        """{parameter: {buffer: value}} from the saved state, checked; problems appended."""
        if not isinstance(saved_state, Mapping):
            problems.append(f"'state' must be a dict of parameter index to buffers, got a "
                            f"{type(saved_state).__name__}")
            return {}
        new_state, seen = {}, {}
        for key, buffers in saved_state.items():
            index = _index(key)
            if index is None:
                problems.append(f"unexpected key 'state.{key}': not a parameter index")
                continue
            if index in seen:
                problems.append(f"'state.{key}' and 'state.{seen[index]}' name the same parameter")
                continue
            seen[index] = key
            if index >= len(params):
                problems.append(f"'state.{key}': this optimizer has only {len(params)} parameters")
                continue
            if not isinstance(buffers, Mapping):
                problems.append(f"'state.{key}' must be a dict of buffers, got a "
                                f"{type(buffers).__name__}")
                continue
            param, loaded = params[index], {}
            for name, value in buffers.items():
                where = f"state.{key}.{name}"
                if name not in self.state_names:
                    problems.append(f"unexpected key {where!r}")
                elif name == "step":
                    step = _step_count(value)
                    if step is None:
                        problems.append(f"'{where}': a step count must be an integer >= 0, "
                                        f"got {value!r}")
                    else:
                        loaded[name] = step
                else:
                    array, problem = loaded_array(where, value, param.shape, param.dtype,
                                                  f"parameter {index} has")
                    if problem is None:
                        bad = first_non_finite(array)
                        problem = (f"'{where}': holds a non-finite value ({bad}); a NaN or inf "
                                   "buffer would make every later step NaN") if bad else None
                    if problem is None and self._check_buffer(name, array):
                        problem = f"'{where}': {self._check_buffer(name, array)}"
                    if problem is None:
                        loaded[name] = array
                    else:
                        problems.append(problem)
            if loaded and len(loaded) == len(buffers):
                new_state[param] = loaded
        return new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number} ({len(group['params'])} parameters)")
            lines += [f"    {key}: {value!r}" for key, value in group.items() if key != "params"]
        return "\n".join(lines + [")"])


def _same(checked, options):
    """True if a group's options equal those checked last (an array value compares as changed)."""
    try:
        return bool(checked == options)
    except (ValueError, TypeError):   # an option holding a numpy array: == is elementwise
        return False


def _index(key):
    """A parameter index from an int or a canonical digit string ("0", "12"); None otherwise."""
    if is_integer(key):
        return int(key) if key >= 0 else None
    if isinstance(key, str) and key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        return int(key)
    return None


def _step_count(value):
    """A loaded step count as an int (PyTorch saves it as a float tensor); None if not one."""
    value = plain(value)
    if is_integer(value) and value >= 0:
        return int(value)
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None
