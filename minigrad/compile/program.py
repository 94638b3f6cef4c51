"""The program: its lines, their assembly into Python source, and what the source calls at run time.

`assemble` turns a trace's lines into `def replay(args): ...`: it drops lines
whose results nothing uses, lets a line overwrite an array in place where the
array is the program's own and dead after it (`overwrite_dead_arrays`), and
frees large arrays after their last use (`free_dead_arrays`), so a replay
holds no more memory than the eager run. `Program` compiles that source once;
the helpers below are the names the source calls besides numpy.
"""
import re

import numpy as np

from .. import random as _random
from ..engine import guards
from ..engine.tensor import new_tensor
from ..ops.activations import _sigmoid

__all__ = ["Line", "assemble", "Program", "FALLBACK", "HELPERS"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Line:
    """One line of the program.

    `text`; `out`, the name (or names) it defines; `pure`, whether it may be
    dropped when nothing uses them; `victim` and `alt`: a name whose array the
    line may overwrite instead of allocating, if that array is the program's
    own and dead after the line, and the text that does so.
    """
    __slots__ = ("text", "out", "pure", "victim", "alt")

    def __init__(self, text, out=None, pure=True, victim=None, alt=None):
        self.text, self.out, self.pure, self.victim, self.alt = text, out, pure, victim, alt


def assemble(tracer, result_text, params):
    """The program of `tracer` as Python source: `def replay(args): ...` returning `result_text`."""
    tracer.sync_grads()
    used = set(_IDENT.findall(result_text))
    keep = []
    for line in reversed(tracer.lines):   # drop pure lines whose names nothing uses
        outs = (line.out,) if isinstance(line.out, str) else (line.out or ())
        if line.pure and outs and not any(o in used for o in outs):
            continue
        keep.append(line)
        used.update(_IDENT.findall(line.text))
    keep.reverse()
    overwrite_dead_arrays(tracer, keep, used_by_result=set(_IDENT.findall(result_text)))
    keep = free_dead_arrays(tracer, keep, set(_IDENT.findall(result_text)))
    if tracer.needs_generator_state:
        keep.insert(0, Line("generator_state = get_generator().bit_generator.state"))
        for line in keep:
            line.text = line.text.replace("fallback()", "fallback(generator_state)")
    keep, result_text = _leaves_as_locals(tracer, keep, result_text)
    body = [f"def replay({params}):"] + ["    " + l.text for l in keep]
    body.append(f"    return {result_text}")
    return "\n".join(body) + "\n"


_LEAF = re.compile(r"\bleaves\[(\d+)\]")


def _leaves_as_locals(tracer, lines, result_text):
    """Read the leaf tensors into local names once (`leaf3` for `leaves[3]`): quicker to use."""
    used = {int(i) for line in lines for i in _LEAF.findall(line.text)}
    used.update(int(i) for i in _LEAF.findall(result_text))
    if not used:
        return lines, result_text
    names = {i: tracer.fresh(f"leaf{i}") for i in sorted(used)}

    def local(match):
        return names[int(match.group(1))]
    for line in lines:
        line.text = _LEAF.sub(local, line.text)
    targets = ", ".join(names.get(i, "_") for i in range(len(tracer.leaves)))
    unpack = Line(f"{targets}, = leaves   # the tensors whose arrays and .grad it uses")
    return [unpack] + lines, _LEAF.sub(local, result_text)


def free_dead_arrays(tracer, lines, used_by_result, threshold=1 << 16):
    """`del` each large array's name after its last use, so the replay holds no more than eager.

    Python keeps a function's locals to its end, and the eager walk frees
    each node's arrays as soon as its backward has run.
    """
    last = {}
    for i, line in enumerate(lines):
        if line.text.startswith((" ", "if ", "else")):
            continue   # inside an optimizer's branch: freed with the lines around it
        for name in _IDENT.findall(line.text):
            if tracer.sizes.get(name, 0) >= threshold and name not in used_by_result:
                last[name] = i
    dead = {}
    for name, i in last.items():
        dead.setdefault(i, []).append(name)
    # Before an optimizer's update (where the eager step's memory peaks), every array the rest
    # of the program does not read is freed, the smaller ones too, in one statement.
    before = {}
    steps = [i for i, line in enumerate(lines) if id(line) in tracer.step_lines]
    if steps:
        first = steps[0]
        later = set()
        for line in lines[first:]:
            later.update(_IDENT.findall(line.text))
        small = sorted({name for line in lines[:first] for name in _IDENT.findall(line.text)
                        if 1024 <= tracer.sizes.get(name, 0) < threshold
                        and name not in later and name not in used_by_result})
        if small:
            before[first] = small
    result = []
    for i, line in enumerate(lines):
        if i in before:
            result.append(Line("del " + ", ".join(before[i])))
        result.append(line)
        if i in dead:
            result.append(Line("del " + ", ".join(sorted(dead[i]))))
    return result


def overwrite_dead_arrays(tracer, lines, used_by_result):
    """Use a line's in-place form where the array it would overwrite is dead after it.

    An array qualifies when the program made it (`owned`), never handed it
    to an op's own forward or backward, returns or stores it, and no later
    line reads it or a view of it.
    """
    last = {}
    for i, line in enumerate(lines):
        for name in _IDENT.findall(line.text):
            last[name] = i
    aliases = dict(tracer.aliases)

    def root(name):
        while name in aliases:
            name = aliases[name]
        return name
    for i, line in enumerate(lines):
        v = line.victim
        if v is None or v not in tracer.owned or v in tracer.pinned or v in used_by_result:
            continue
        group = [n for n in last if root(n) == root(v)]
        if any(n in used_by_result or n in tracer.pinned or last[n] > i for n in group):
            continue
        line.text = line.alt
        aliases[line.out] = v
        for name in _IDENT.findall(line.text):
            last[name] = max(last.get(name, i), i)


class Program:
    """One trace: the replay function, its source (`code`), and what it reads and writes."""

    def __init__(self, source, env, leaves, optimizers, returned):
        self.code, self.leaves, self.optimizers = source, leaves, optimizers
        self.returned = returned
        namespace = dict(env)
        exec(compile(source, "<minigrad.compile>", "exec"), namespace)
        self.replay = namespace["replay"]
        self.replays = 0
        self.guard = None   # signature.guard_for's test that a call has this trace's key
        self.groups = []    # the optimizers' groups its key names by id(), kept alive


class _Fallback:
    """Returned by a replay whose guard failed: this call runs eagerly."""


FALLBACK = _Fallback()


def _fallback(generator_state=None):
    if generator_state is not None:
        _random.get_generator().bit_generator.state = generator_state
    return FALLBACK


def _new_ctx(cls, needs):
    ctx = cls()
    ctx.needs_input_grad = needs
    return ctx


def _as_output(out):
    return out if type(out) is np.ndarray else np.asarray(out)


def _as_tuple(grads):
    return grads if type(grads) is tuple else (grads,)


def _note_changes(tensors, views=()):
    """One in-place change of each of `tensors` and `views` (an optimizer's update), for the
    in-place guard; `views` are the tensors that view another's array (`_base`), changed too."""
    reading = guards.changes.last = next(guards.clock)
    for t in tensors:
        t._version += 1
        t._changed_at = reading
    for t in views:
        t._version += 1
        t._changed_at = reading
        guards.note_change(t._base)


BLOCK_BYTES = 1 << 18   # the largest temporary a plain SGD update of a large parameter makes


def _subtract_scaled(param, rate, grad):
    """`param -= rate * grad` in blocks of BLOCK_BYTES: the same numbers, elementwise, without
    a temporary as large as the parameter (the replay's memory peak is at this update)."""
    if not (param.flags.c_contiguous and grad.flags.c_contiguous and param.shape == grad.shape):
        param -= rate * grad
        return
    param, grad = param.reshape(-1), grad.reshape(-1)   # views: both are contiguous
    block = BLOCK_BYTES // param.itemsize
    for start in range(0, param.size, block):
        param[start:start + block] -= rate * grad[start:start + block]


def _returned_tensor(array):
    return new_tensor(array if type(array) is np.ndarray else np.asarray(array), None)


HELPERS = {"new_ctx": _new_ctx, "as_output": _as_output, "as_tuple": _as_tuple,
           "note_changes": _note_changes, "subtract_scaled": _subtract_scaled,
           "sigmoid": _sigmoid, "fallback": _fallback,
           "get_generator": _random.get_generator, "tensor": _returned_tensor}
