"""The lines the program runs for each op: numpy inlined for the built-ins, a call for the rest.

For the ops a training step spends its time in (the fused dense layer, its
activations, arithmetic, the losses) the forward and the backward are
written as numpy lines, the same expressions the op's own methods compute,
so a replay gives the eager numbers bit for bit and `.code` reads like the
documents' backprop (dZ = dA * g'(Z), dW = dZ^T X, db = sum of dZ's rows).
Every other op, and every op of yours, runs its own `forward` on a fresh ctx
and later its own `backward` on that ctx: replayed like a built-in.
"""
import numpy as np

from .. import ops
from ..nn.functional.classification import SoftmaxCrossEntropy
from ..nn.functional.loss import SquaredError

__all__ = ["emit_forward", "emit_backward"]

# How each fused activation runs in place on a layer's output, and g * f'(out) from the output.
_ACTIVATE = {"relu": "np.maximum({z}, 0, out={z})", "sigmoid": "sigmoid({z}, out={z})",
             "tanh": "np.tanh({z}, out={z})"}
_ACTIVATE_NEW = {"relu": "np.maximum({x}, 0)", "sigmoid": "sigmoid({x})", "tanh": "np.tanh({x})"}
_DERIVATIVE = {"relu": "{g} * ({a} > 0)", "sigmoid": "{g} * {a} * (1 - {a})",
               "tanh": "{g} * (1 - {a} * {a})"}
_IN_PLACE = {"relu": "{g} *= ({a} > 0)", "sigmoid": "{g} *= {a}; {g} *= 1 - {a}",
             "tanh": "{t} = {a} * {a}; np.subtract(1, {t}, out={t}); {g} *= {t}; del {t}"}
_ACTIVATION_OF = {cls: name for name, cls in ops.OUTPUT_ACTIVATIONS.items()}
_BINARY = {ops.Add: "+", ops.Sub: "-", ops.Mul: "*", ops.Div: "/"}


def _count(tr, kind):
    tr.counts[kind] = tr.counts.get(kind, 0) + 1
    return tr.counts[kind]


def emit_forward(tr, rec, needs, param_refs):
    """Write the forward of op record `rec`; returns the name of its output."""
    cls, x = rec.cls, rec.ins
    rec.info["needs"] = needs
    if cls is ops.Linear and rec.arrays[0].ndim == 2 and len(x) == 3 and rec.arrays[1].ndim == 2 \
            and (rec.arrays[2] is None or np.ndim(rec.arrays[2]) == 1):
        return _linear(tr, rec)
    if cls in _ACTIVATION_OF:
        name = _ACTIVATION_OF[cls]
        out = tr.fresh(f"{name}{_count(tr, name)}")
        tr.emit(f"{out} = {_ACTIVATE_NEW[name].format(x=x[0])}", out, owned=True)
        rec.info.update(kind="activation", activation=name)
        return out
    if cls in _BINARY and not rec.params:
        out = tr.fresh(f"{cls.__name__.lower()}{_count(tr, cls.__name__)}")
        tr.emit(f"{out} = {_as_array(rec, f'{x[0]} {_BINARY[cls]} {x[1]}')}", out, owned=True)
        rec.info.update(kind="binary")
        return out
    if cls is ops.Neg:
        out = tr.fresh(f"neg{_count(tr, 'neg')}")
        tr.emit(f"{out} = {_as_array(rec, f'-{x[0]}')}", out, owned=True)
        rec.info.update(kind="neg")
        return out
    if cls is SquaredError:
        return _squared_error(tr, rec, needs)
    if cls is SoftmaxCrossEntropy and rec.params.get("labels") and rec.arrays[0].ndim == 2 \
            and rec.params.get("reduction", "mean") in ("mean", "sum"):
        return _cross_entropy(tr, rec)
    return _generic_forward(tr, rec, needs, param_refs)


def _columns(tr):
    """{name of a batch-first array: name of the same array in the column layout}."""
    return tr.__dict__.setdefault("columns", {})


def _column(tr, name):
    """`name`'s array in the column layout (features x samples): its own name, or a `.T` view.

    The dense layers' lines work in that layout, the documents' `Z = W A + b`:
    each layer's product is made in it, so nothing is transposed on the way.
    """
    columns = _columns(tr)
    if name not in columns:
        if not name.isidentifier():
            return f"({name}).T"
        column = tr.fresh(name[:-5] if name.endswith("_rows") else f"{name}_T")
        tr.emit(f"{column} = {name}.T", column, alias_of=name)
        tr.sizes[column] = tr.sizes.get(name, 0)
        columns[name] = column
        _rows_of(tr)[column] = name
    return columns[name]


def _rows_of(tr):
    """{name of a column-layout array: the name of its batch-first transpose}."""
    return tr.__dict__.setdefault("rows_of", {})


def _rows(tr, column, nbytes):
    """A batch-first view (one row per sample) of the column-layout array `column`, by name.

    The line is dropped when nothing but the dense layers' lines uses the value.
    """
    rows = tr.fresh(f"{column}_rows")
    tr.emit(f"{rows} = {column}.T", rows, alias_of=column)
    tr.sizes[rows] = tr.sizes[column] = nbytes
    _columns(tr)[rows] = column
    _rows_of(tr)[column] = rows
    return rows


def _linear(tr, rec):
    """A dense layer: Z = W A + b, A = g(Z), in the column layout; returns its batch-first name."""
    x, activation = rec.ins, rec.params.get("activation")
    k = _count(tr, "layer")
    out = tr.fresh(f"A{k}" if activation else f"Z{k}")
    data = rec.arrays[0]
    if x[0] in _columns(tr):
        columns = _columns(tr)[x[0]]
    elif data.flags.c_contiguous and not data.flags.f_contiguous and data.shape[1] <= 8:
        # A few features per sample: BLAS reads the samples faster as rows of X^T.
        columns = tr.fresh(f"{x[0]}_T")
        tr.emit(f"{columns} = np.ascontiguousarray({x[0]}.T)   # X^T, one row per feature",
                columns, owned=True)
        tr.sizes[columns] = data.nbytes
        _columns(tr)[x[0]] = columns   # (another layer on the same input reads it too)
    else:
        columns = _column(tr, x[0])
    tr.emit(f"{out} = np.dot({x[1]}, {columns})   # {'Z' if activation else out} = W A, "
            "one column per sample", out, owned=True)
    bias = rec.arrays[2]
    if bias is not None:
        if type(bias) is np.ndarray and bias.dtype == rec.out_array.dtype:
            tr.emit(f"{out} += {x[2]}[:, None]", out)
        else:
            tr.emit(f"{out} = {out} + {x[2]}[:, None]", out, owned=True)
    if activation:
        tr.emit(_ACTIVATE[activation].format(z=out) + f"   # {out} = {activation}(Z)", out)
    rec.info.update(kind="linear", activation=activation, layer=k, x_columns=columns, out=out)
    return _rows(tr, out, rec.out_array.nbytes)


def _transposed(tr, expression):
    """The source of `expression`'s transpose: a name it has, or `.T` (never `.T.T`)."""
    if expression in _rows_of(tr):
        return _rows_of(tr)[expression]
    return expression[:-2] if expression.endswith(".T") else f"{expression}.T"


def _as_array(rec, expression):
    """`expression`, wrapped in np.asarray when the op's forward returned a numpy scalar."""
    return f"np.asarray({expression})" if rec.out_array.ndim == 0 else expression


def _generic_forward(tr, rec, needs, param_refs):
    op = tr.op_name(rec.cls)
    ctx = tr.fresh(f"ctx_{op.lower()}")
    out = tr.fresh(f"{rec.cls.__name__.lower()}{_count(tr, rec.cls.__name__)}")
    args = ", ".join([ctx] + rec.ins + [f"{k}={v}" for k, v in param_refs.items()])
    tr.emit(f"{ctx} = new_ctx({op}, {tuple(bool(n) for n in needs)})", ctx)
    tr.emit(f"{out} = as_output({op}.forward({args}))", (out, ctx))
    tr.pinned.update(n for n in rec.ins if n.isidentifier())   # forward may keep them in ctx
    rec.info.update(kind="generic", ctx=ctx, op=op)
    return out


def _squared_error(tr, rec, needs):
    pred, target = rec.ins
    reduction = rec.params.get("reduction", "mean")
    column = pred in _columns(tr) and not needs[1] and reduction != "none" \
        and np.shape(rec.arrays[1]) == rec.arrays[0].shape
    if column:   # a dense layer's output: the difference in its column layout, the target read
        pred, target = _columns(tr)[pred], _column(tr, target)   # through a transposed view
    elif not needs[1] and _converts_layout(rec.arrays[1], rec.arrays[0]):
        converted = tr.fresh(f"{target}_F")
        tr.emit(f"{converted} = np.asfortranarray({target})   # the prediction's memory order",
                converted)
        target = converted
    diff = tr.fresh("diff")
    tr.emit(f"{diff} = {pred} - {target}", diff, owned=True)
    tr.sizes[diff] = rec.arrays[0].nbytes
    out = tr.fresh("loss")
    count = rec.arrays[0].size
    if reduction == "none":
        tr.emit(f"{out} = {diff} * {diff}", out, owned=True)
    else:
        flat = tr.fresh("flat")
        tr.emit(f"{flat} = {diff}.ravel(order='K')", flat, alias_of=diff)
        total = f"({flat} @ {flat})"
        tr.emit(f"{out} = np.asarray({total + f' / {count}' if reduction == 'mean' else total})"
                f"   # squared error, {reduction}", out)
    rec.info.update(kind="mse", diff=diff, count=count, reduction=reduction, column=column,
                    pred=pred)
    return out


def _converts_layout(array, like):
    return (isinstance(array, np.ndarray) and like.ndim >= 2 and like.flags.f_contiguous
            and not like.flags.c_contiguous and not array.flags.f_contiguous)


def _cross_entropy(tr, rec):
    logits, labels = rec.ins
    reduction = rec.params.get("reduction", "mean")
    n = rec.arrays[0].shape[0]
    rows = tr.const(np.arange(n), "rows")
    shifted, logp, out = tr.fresh("shifted"), tr.fresh("log_p"), tr.fresh("loss")
    tr.emit(f"{shifted} = {logits} - {logits}.max(axis=-1, keepdims=True)", shifted, owned=True)
    tr.emit(f"{log_p_line(shifted, logp)}   # log softmax", logp, owned=True)
    tr.sizes[shifted] = tr.sizes[logp] = rec.arrays[0].nbytes
    reduce = "mean" if reduction == "mean" else "sum"
    tr.emit(f"{out} = np.asarray((-{logp}[{rows}, {labels}]).{reduce}())   # cross-entropy", out)
    rec.info.update(kind="cross_entropy", logp=logp, rows=rows, labels=labels, count=n,
                    reduction=reduction)
    return out


def log_p_line(shifted, logp):
    return f"{logp} = {shifted} - np.log(np.exp({shifted}).sum(axis=-1, keepdims=True))"


def emit_backward(tr, rec, g, input_grads):
    """Write the backward of `rec` given its output's gradient `g`; names per input (None: none)."""
    info, x = rec.info, rec.ins
    wants = [ig is not None for ig in input_grads]
    out_bytes = int(np.prod(rec.out_shape)) * rec.out_dtype.itemsize
    tr.sizes[g] = max(tr.sizes.get(g, 0), out_bytes)
    kind = info["kind"]
    names = [tr.fresh("d" + _base(x[i])) if wants[i] and (i or not _in_columns(info)) else None
             for i in range(len(x))]   # (a dense layer names its dX in the column layout)
    if kind == "linear":   # in the column layout (see _linear)
        activation, k = info["activation"], info["layer"]
        dz = _column(tr, g)
        if activation:
            a, dz_rows = info["out"], dz
            dz = tr.fresh(f"dZ{k}")
            tr.sizes[dz] = out_bytes
            comment = f"   # dZ = dA * {activation}'(Z)"
            tr.emit(f"{dz} = {_DERIVATIVE[activation].format(g=dz_rows, a=a)}" + comment, dz,
                    owned=True, victim=dz_rows,
                    alt=f"{dz} = {dz_rows}; "
                        f"{_IN_PLACE[activation].format(g=dz, a=a, t=tr.fresh('square'))}"
                        + comment)
        if wants[0]:
            dx = tr.fresh("d" + _base(_columns(tr).get(x[0], x[0])))
            tr.emit(f"{dx} = np.dot({x[1]}.T, {dz})   # dX = dZ W, as W^T dZ", dx, owned=True)
            names[0] = _rows(tr, dx, tr.sizes.get(x[0], 0))
        if wants[1]:
            tr.emit(f"{names[1]} = np.dot({dz}, {_transposed(tr, info['x_columns'])})"
                    "   # dW = dZ^T X, as dZ A^T", names[1], owned=True)
        if wants[2]:
            n, dtype = rec.out_shape[0], rec.out_dtype
            ones = tr.ones.get((n, dtype))
            if ones is None:
                ones = tr.ones[n, dtype] = tr.const(np.ones(n, dtype), f"ones{n}")
            tr.emit(f"{names[2]} = np.dot({ones}, {dz}.T)   # db = the sum of dZ's rows", names[2],
                    owned=True)
    elif kind == "activation":
        tr.emit(f"{names[0]} = {_DERIVATIVE[info['activation']].format(g=g, a=rec.out)}", names[0],
                owned=True)
    elif kind == "binary":
        a, b = x
        formulas = {ops.Add: (g, g), ops.Sub: (g, f"-{g}"), ops.Mul: (f"{g} * {b}", f"{g} * {a}"),
                    ops.Div: (f"{g} / {b}", f"-{g} * {a} / ({b} * {b})")}[rec.cls]
        for name, formula in zip(names, formulas):
            if name:
                if formula == g:
                    tr.emit(f"{name} = {formula}", name, alias_of=g)
                else:
                    tr.emit(f"{name} = {formula}", name, owned=True)
    elif kind == "neg":
        tr.emit(f"{names[0]} = -{g}", names[0], owned=True)
    elif kind == "mse":
        per_element = f"({g} / {info['count']})" if info["reduction"] == "mean" else g
        d = tr.fresh("d" + _base(info["pred"])) if not wants[0] or info["column"] else names[0]
        comment = "   # d loss / d prediction"
        tr.emit(f"{d} = {info['diff']} * (2 * {per_element})" + comment, d, owned=True,
                victim=info["diff"], alt=f"{d} = {info['diff']}; {d} *= 2 * {per_element}" + comment)
        if info["column"] and wants[0]:
            names[0] = _rows(tr, d, out_bytes)
        if wants[1]:
            tr.emit(f"{names[1]} = -{d}", names[1], owned=True)
    elif kind == "cross_entropy":
        d = names[0]
        tr.sizes[d] = tr.sizes.get(info["logp"], 0)
        per_sample = tr.fresh("g_sample")
        tr.emit(f"{per_sample} = {g} / {info['count']}" if info["reduction"] == "mean"
                else f"{per_sample} = {g}", per_sample)
        tr.emit(f"{d} = np.exp({info['logp']})   # softmax", d, owned=True)
        tr.emit(f"{d}[{info['rows']}, {info['labels']}] -= 1   # - one_hot", d)
        tr.emit(f"{d} *= {per_sample}", d)
    else:
        unpack = ", ".join(n or "_" for n in names) + ("," if len(names) == 1 else "")
        tr.emit(f"{unpack} = as_tuple({info['op']}.backward({info['ctx']}, {g}))",
                tuple(n for n in names if n))
        tr.pinned.add(g)
    return names


def _in_columns(info):
    """True for an op whose backward makes its first input's gradient in the column layout."""
    return info["kind"] == "linear" or info.get("column", False)


def _base(ref):
    """A name to build a gradient's name on: the input's variable, or 'x' for a literal."""
    return ref if ref.isidentifier() else "x"
