"""Jacobians, Hessians and their products, with the conventions of `torch.autograd.functional`.

For a function `func` of Tensors returning a Tensor (or a tuple of Tensors),
J its Jacobian and H the Hessian of a scalar `func`:

- `vjp(func, inputs, v)`      -> (func(inputs), v^T J)          one reverse pass
- `jvp(func, inputs, v)`      -> (func(inputs), J v)            two reverse passes
- `jacobian(func, inputs)`    -> J, shape output.shape + input.shape
- `hessian(func, inputs)`     -> H, shape input.shape + input.shape
- `vhp(func, inputs, v)`      -> (func(inputs), v^T H)
- `hvp(func, inputs, v)`      -> (func(inputs), H v)
- `functional_call(module, {name: tensor}, args)` runs a Module with some
  parameters or buffers replaced, so that all of the above work with respect
  to a model's parameters.

`inputs` (and `v`) are a Tensor or an array, or a tuple of them; when
`inputs` is a tuple the results are tuples too (nested, for jacobian and
hessian: `J[i][j]` is output i by input j), exactly as in PyTorch. Results
are Tensors in the dtype of the inputs (float32 stays float32), cut off from
any graph unless `create_graph=True`, in which case they can be
differentiated again. With `strict=True`, an output independent of an input
is an error instead of a zero. func runs with grad mode on, also inside
`no_grad()`.
"""
from .call import functional_call
from .products import hessian, hvp, jacobian, jvp, vhp, vjp

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp", "functional_call"]
