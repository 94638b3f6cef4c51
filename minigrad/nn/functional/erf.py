"""erf(x) in float64 for numpy arrays: W. J. Cody's rational approximations (Math. Comp. 1969).

numpy has no erf, and the exact GELU needs one. Cody's three rational
functions cover |x| <= 0.46875 (erf directly), 0.46875 < |x| <= 4 and
|x| > 4 (erfc = exp(-x^2) R(x)); the result agrees with `math.erf` to about
one unit in the last place. Engine-free: arrays in, arrays out.
"""
import numpy as np

__all__ = ["erf"]

_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
_ONE_OVER_SQRT_PI = 0.5641895835477562869


def _small(x):
    """erf(x) for |x| <= 0.46875: x P(x^2) / Q(x^2)."""
    z = x * x
    num, den = _A[4] * z, z
    for a, b in zip(_A[:3], _B[:3]):
        num, den = (num + a) * z, (den + b) * z
    return x * (num + _A[3]) / (den + _B[3])


def _erfc_scaled_middle(y):
    """exp(y^2) erfc(y) for 0.46875 < y <= 4."""
    num, den = _C[8] * y, y
    for c, d in zip(_C[:7], _D[:7]):
        num, den = (num + c) * y, (den + d) * y
    return (num + _C[7]) / (den + _D[7])


def _erfc_scaled_large(y):
    """exp(y^2) erfc(y) for y > 4: (1/sqrt(pi) - R(1/y^2) / y^2) / y."""
    z = 1.0 / (y * y)
    num, den = _P[5] * z, z
    for p, q in zip(_P[:4], _Q[:4]):
        num, den = (num + p) * z, (den + q) * z
    return (_ONE_OVER_SQRT_PI - z * (num + _P[4]) / (den + _Q[4])) / y


def erf(x):
    """The error function 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise, in x's float dtype."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    x64 = x.astype(np.float64, copy=False)
    y = np.abs(x64)
    out = np.empty_like(x64)
    small = y <= 0.46875
    out[small] = _small(x64[small])
    for part, scaled in ((~small & (y <= 4.0), _erfc_scaled_middle), (y > 4.0, _erfc_scaled_large)):
        if not part.any():
            continue
        yp = np.minimum(y[part], 27.0)   # erfc(27) underflows to 0; inf would give inf - inf
        # exp(-y^2) split as exp(-r^2) exp(-(y - r)(y + r)), r = y rounded down to 1/16:
        # y^2 itself would lose the low bits that matter when y is large (Cody's trick).
        r = np.trunc(yp * 16.0) / 16.0
        erfc = np.exp(-r * r) * np.exp(-(yp - r) * (yp + r)) * scaled(yp)
        out[part] = np.copysign(1.0 - erfc, x64[part])
    out[np.isnan(x64)] = np.nan
    return out.astype(dtype, copy=False)
