"""The sharper gradcheck: real Jacobian entries in both lines of a failure, functions that call
mg.grad themselves, the culprit of a second-order failure, fast_mode and raise_exception."""
import re

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import minigrad as mg
from minigrad.testing import shapes

ENTRY = re.compile(r"derivative of output (?:(\d+) )?element \(([\d, ]*)\) with respect to "
                   r"input (\d+) element \(([\d, ]*)\) is analytic (\S+), numeric (\S+)")


def entries(message):
    """Every reported Jacobian entry: (output position or None, output index, input, input index,
    analytic, numeric), in the order of the message's lines."""
    found = []
    for out, out_index, k, in_index, analytic, numeric in ENTRY.findall(message):
        as_tuple = lambda text: tuple(int(i) for i in text.replace(" ", "").split(",") if i)
        found.append((int(out) if out else None, as_tuple(out_index), int(k), as_tuple(in_index),
                      float(analytic), float(numeric)))
    return found


def leaf(values):
    return mg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


class CubeOffByHalf(mg.Function):
    """x ** 3 whose backward says 4.5 x^2: 3/2 of the truth."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 4.5 * x * x


class CubeConstantDerivative(mg.Function):
    """x ** 3 with 3x^2 saved as a derived array (a constant): first order right, second wrong."""

    @staticmethod
    def forward(ctx, x):
        ctx.derivative = 3 * x * x
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        return g * ctx.derivative


class MatVecWrongEntry(mg.Function):
    """A @ x for a constant A, whose backward uses A with entry WRONG raised by 1."""
    A = np.arange(12.0).reshape(3, 4) / 10
    WRONG = (1, 2)

    @staticmethod
    def forward(ctx, x):
        return MatVecWrongEntry.A @ x

    @staticmethod
    def backward(ctx, g):
        wrong = MatVecWrongEntry.A.copy()
        wrong[MatVecWrongEntry.WRONG] += 1
        return wrong.T @ g


X = [0.5, -1.5, 2.0, 1.0]


# -- (a) real Jacobian entries ---------------------------------------------------------------

def test_a_backward_off_by_half_is_reported_with_entries_recomputable_by_hand():
    x = np.array(X)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda t: CubeOffByHalf.apply(t).sum(), [leaf(X)])
    message = str(info.value)
    summary, culprit = message.split("\nfirst op whose own backward disagrees: ")
    assert culprit.startswith("CubeOffByHalf ")
    (_, out_index, k, j, analytic, numeric), = entries(summary)
    assert (out_index, k) == ((), 0)                 # the sum is a 0-d output
    assert analytic == pytest.approx(4.5 * x[j] ** 2, rel=1e-9)   # by hand: 4.5 x_j^2 ...
    assert numeric == pytest.approx(3 * x[j] ** 2, rel=1e-6)      # ... against the true 3 x_j^2
    # The op alone maps x to x ** 3 elementwise: the wrong entry is on the Jacobian's diagonal.
    (_, out_index, k, j2, analytic, numeric), = entries(culprit)
    assert out_index == j2 and k == 0
    assert analytic == pytest.approx(4.5 * x[j2] ** 2, rel=1e-9)
    assert numeric == pytest.approx(3 * x[j2] ** 2, rel=1e-6)


def test_an_off_diagonal_entry_names_its_output_and_its_input_element():
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(MatVecWrongEntry.apply, [leaf(X)])
    reported = entries(str(info.value))
    assert len(reported) == 2                      # the summary, then the op (the same op here)
    row, column = MatVecWrongEntry.WRONG
    for _, out_index, k, in_index, analytic, numeric in reported:
        assert out_index == (row,) and in_index == (column,) and k == 0
        assert numeric == pytest.approx(MatVecWrongEntry.A[row, column], abs=1e-8)
        assert analytic == pytest.approx(MatVecWrongEntry.A[row, column] + 1, abs=1e-12)


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_the_reported_entry_is_the_one_that_is_wrong_for_drawn_shapes(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    wrong = tuple(data.draw(st.integers(0, n - 1)) for n in shape)

    class TwiceWithOneWrong(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            result = 2 * g + 0.0
            result[wrong] += g[wrong]      # 3 on one entry of the diagonal, 2 elsewhere
            return result

    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(TwiceWithOneWrong.apply, [mg.Tensor(np.ones(shape), requires_grad=True)])
    reported = entries(str(info.value))
    assert len(reported) == 2                          # the summary and the culprit line
    for _, out_index, k, in_index, analytic, numeric in reported:
        assert out_index == in_index == wrong
        assert (analytic, numeric) == (pytest.approx(3.0), pytest.approx(2.0))


def test_a_tuple_of_outputs_is_checked_and_names_the_wrong_output():
    ok = mg.gradcheck(lambda t: (t * 2, (t * t).sum()), [leaf(X)])
    assert ok is True
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda t: (t * 2, MatVecWrongEntry.apply(t)), [leaf(X)])
    out, out_index, *_ = entries(str(info.value))[0]
    assert out == 1 and out_index == (MatVecWrongEntry.WRONG[0],)


# -- (b) functions that call mg.grad themselves -----------------------------------------------

def gradient_penalty(x):
    """sum((d/dx sum(x^3))^2) = sum(9 x^4): its gradient is 36 x^3."""
    first, = mg.grad((x ** 3).sum(), [x], create_graph=True)
    return (first ** 2).sum()


def test_gradcheck_of_a_gradient_penalty_passes_even_under_no_grad():
    x = leaf(X)
    assert mg.gradcheck(gradient_penalty, [x])
    with mg.no_grad():
        assert mg.gradcheck(gradient_penalty, [x])
        assert not mg.is_grad_enabled()            # the user's mode is left as it was


def test_gradcheck_of_a_gradient_penalty_catches_a_backward_that_is_not_differentiable():
    def penalty(x):
        first, = mg.grad(CubeConstantDerivative.apply(x).sum(), [x], create_graph=True)
        return (first ** 2).sum()

    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(penalty, [leaf(X)])
    (_, _, _, j, analytic, numeric) = entries(str(info.value))[0]
    x = np.array(X)
    assert numeric == pytest.approx(36 * x[j] ** 3, rel=1e-6)   # d/dx_j of 9 x_j^4
    assert analytic == pytest.approx(0.0, abs=1e-12)            # the constant 3x^2 has no slope


# -- (c) gradgradcheck names the culprit ------------------------------------------------------

def test_gradgradcheck_reports_hessian_entries_and_names_the_op_whose_backward_is_constant():
    x = np.array(X)
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradgradcheck(lambda t: (CubeConstantDerivative.apply(t.tanh()) * 2).sum(), [leaf(X)])
    message = str(info.value)
    assert message.startswith("second order")
    summary, culprit = message.split("\nfirst op whose backward is wrong or not differentiable: ")
    assert culprit.split()[0] == "CubeConstantDerivative"
    assert entries(culprit)

    with pytest.raises(mg.GradcheckError) as info:
        mg.gradgradcheck(lambda t: CubeConstantDerivative.apply(t).sum(), [leaf(X)])
    (_, i, k, j, analytic, numeric) = entries(str(info.value))[0]
    assert i == j and k == 0                       # the Hessian diag(6x) of sum(x^3)
    assert numeric == pytest.approx(6 * x[j], rel=1e-6)
    assert analytic == pytest.approx(0.0, abs=1e-12)


def test_gradgradcheck_names_a_backward_written_in_plain_numpy():
    class NumpySin(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.sin(x)

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return np.asarray(g) * np.cos(np.asarray(x))     # leaves the graph

    assert mg.gradcheck(NumpySin.apply, [leaf(X)])
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradgradcheck(lambda t: NumpySin.apply(t * 2).sum(), [leaf(X)])
    culprit = str(info.value).split("not differentiable: ")[1]
    assert culprit.split()[0] == "NumpySin"


def test_gradgradcheck_says_when_the_culprit_is_wrong_at_first_order_already():
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradgradcheck(lambda t: (MatVecWrongEntry.apply(t.tanh()) ** 2).sum(), [leaf(X)])
    culprit = str(info.value).split("not differentiable: ")[1]
    assert culprit.startswith("MatVecWrongEntry (op 2 in the order they ran): its first-order")
    (_, out_index, _, in_index, analytic, numeric), = entries(culprit)
    assert (out_index + in_index) == MatVecWrongEntry.WRONG
    assert analytic - numeric == pytest.approx(1.0, abs=1e-8)


def test_a_function_returning_no_floating_point_tensor_is_refused():
    with pytest.raises(ValueError, match="no floating-point Tensor.*int64"):
        mg.gradcheck(lambda t: (t * 2).astype(np.int64), [leaf(X)])


# -- (d) fast_mode and raise_exception ---------------------------------------------------------

def counting(fn):
    def counted(*args):
        counted.calls += 1
        return fn(*args)
    counted.calls = 0
    return counted


def test_fast_mode_evaluates_twice_per_input_and_the_default_twice_per_element():
    fn = counting(lambda a, b: (a * b).tanh())
    assert mg.gradcheck(fn, [leaf(X), leaf([1.0, 2.0, 3.0, 4.0])], fast_mode=True)
    assert fn.calls == 1 + 2 * 2                 # one analytic run, two per input's direction
    fn.calls = 0
    assert mg.gradcheck(fn, [leaf(X), leaf([1.0, 2.0, 3.0, 4.0])])
    assert fn.calls == 1 + 2 * 8                 # exact: two per element of each input


def test_fast_mode_catches_a_wrong_backward_and_locates_it_entry_by_entry():
    exact = str(pytest.raises(mg.GradcheckError, mg.gradcheck, MatVecWrongEntry.apply,
                              [leaf(X)]).value)
    fast = str(pytest.raises(mg.GradcheckError, mg.gradcheck, MatVecWrongEntry.apply,
                             [leaf(X)], fast_mode=True).value)
    assert fast == exact
    assert mg.gradgradcheck(lambda t: (t ** 3).sum(), [leaf(X)], fast_mode=True)
    with pytest.raises(mg.GradcheckError, match="second order"):
        mg.gradgradcheck(lambda t: CubeConstantDerivative.apply(t).sum(), [leaf(X)],
                         fast_mode=True)


def test_raise_exception_false_returns_false_instead_of_raising():
    assert mg.gradcheck(MatVecWrongEntry.apply, [leaf(X)], raise_exception=False) is False
    assert mg.gradcheck(MatVecWrongEntry.apply, [leaf(X)], raise_exception=False,
                        fast_mode=True) is False
    assert mg.gradgradcheck(CubeConstantDerivative.apply, [leaf(X)],
                            raise_exception=False) is False
    assert mg.gradcheck(lambda t: t * 2, [leaf(X)], raise_exception=False) is True
    with pytest.raises(TypeError, match="raise_exception"):
        mg.gradcheck(lambda t: t * 2, [leaf(X)], raise_exception="no")
    with pytest.raises(TypeError, match="fast_mode"):
        mg.gradgradcheck(lambda t: t * 2, [leaf(X)], fast_mode=1)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_a_nan_analytic_gradient_fails_the_check(fast_mode):
    class NanBackward(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return g * np.nan

    with pytest.raises(mg.GradcheckError, match="nan"):
        mg.gradcheck(NanBackward.apply, [leaf(X)], fast_mode=fast_mode)
