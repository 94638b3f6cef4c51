"""Nested checkpoints: a tree of dicts, lists and numbers as flat named arrays plus a structure record.

`minigrad.save` stores a nested value, such as

    {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}

as one array per leaf, named by its dotted path ("model.0.weight",
"optimizer.state.0.exp_avg", "epoch"), and a record of the structure, JSON
text in the uint8 array STRUCTURE_KEY. The record says which containers are
dicts, lists or tuples, whether a dict key is a str or an int, and which
leaves were Python ints, floats or bools (stored as 0-d arrays, given back as
Python numbers). Strings and None are kept in the record itself. Any other
value must be an array of numbers. `load` rebuilds the same nesting. JSON is
data, never code: nothing is unpickled.

Rules: dict keys are str or int; a dotted path must name one leaf (so
{"a.b": x, "a": {"b": y}} is refused); a key may not contain a NUL byte or a
backslash, nor text that UTF-8 cannot encode; two paths equal after Unicode
NFC normalisation are refused. These keep every name the same after a trip
through any zip tool on any system.
"""
import json
import unicodedata
from collections.abc import Mapping

import numpy as np

from .validation import is_integer

__all__ = ["CheckpointError", "STRUCTURE_KEY", "MAX_DEPTH", "NUMBER_KINDS", "check_key", "flatten",
           "encode", "needs_structure", "unflatten"]

STRUCTURE_KEY = "__minigrad_structure__"   # reserved: the member holding the structure record
MAX_DEPTH = 64          # nesting deeper than this is refused (on save and on load)
NUMBER_KINDS = "biufc"  # bool, integers, floats, complex: what a checkpoint may hold
_INT64 = np.iinfo(np.int64)


class CheckpointError(ValueError):
    """A value that cannot be saved as plain arrays, or a file that is not a safe checkpoint.

    Raised by `minigrad.save` before anything is written and by `minigrad.load`
    before any array is built; a ValueError, so `except ValueError` catches it.
    """


def check_key(key, where):
    """Raise CheckpointError unless the text `key` survives a zip archive unchanged on every system."""
    if "\x00" in key:
        raise CheckpointError(f"{where}: the key {key!r} contains a NUL byte, which zip archives "
                        "truncate names at")
    if "\\" in key:
        raise CheckpointError(f"{where}: the key {key!r} contains a backslash, which zip tools on "
                        "Windows turn into a folder separator")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError(f"{where}: the key {key!r} cannot be encoded as UTF-8, as zip member "
                        "names must be") from None
    if len(encoded) > 65000:
        raise CheckpointError(f"{where}: the key {key[:40]!r}... is {len(encoded)} bytes long; zip "
                        "member names hold at most 65,000")


def needs_structure(value):
    """False for a flat {str: array} mapping (stored as a plain .npz, as before); True otherwise."""
    return not (isinstance(value, Mapping) and all(
        isinstance(k, str) and _is_array_like(v) for k, v in value.items()))


def _is_array_like(value):
    """Arrays, numpy scalars and Tensors: stored as arrays, given back as arrays."""
    return isinstance(value, (np.ndarray, np.generic)) or (
        hasattr(value, "__array__") and not isinstance(value, (Mapping, list, tuple, str, bytes)))


def flatten(tree, as_array):
    """(members {dotted name: array}, structure record as a JSON-ready node) for `tree`.

    `as_array(value, name)` turns a leaf into a checked numpy array (or raises).
    """
    members, normalised = {}, {}

    def add(path, array):
        name = ".".join(path)
        key = unicodedata.normalize("NFC", name)
        if key in normalised or name == STRUCTURE_KEY:
            other = normalised.get(key, STRUCTURE_KEY)
            raise CheckpointError(
                f"two keys give the same stored name {name!r} (as {other!r}): a dotted key and a "
                "nested one, an int key and its digits as a str, or texts equal after Unicode "
                "normalisation; rename one" if other != STRUCTURE_KEY else
                f"the key {name!r} is reserved for the checkpoint's structure record")
        check_key(name, "save")
        normalised[key] = name
        members[name] = array
        return name

    def node(value, path):
        if len(path) > MAX_DEPTH:
            raise CheckpointError(f"the value under {'.'.join(path[:3])!r}... is nested more than "
                            f"{MAX_DEPTH} levels deep")
        if isinstance(value, Mapping):
            items = []
            for key, item in value.items():
                if isinstance(key, str) and key:
                    check_key(key, "save")
                elif not is_integer(key):
                    raise CheckpointError(f"checkpoint keys must be non-empty strings or integers, got "
                                    f"{key!r}" + (f" under {'.'.join(path)!r}" if path else ""))
                items.append([key if isinstance(key, str) else int(key),
                              node(item, path + [str(key)])])
            return {"dict": items}
        if isinstance(value, (list, tuple)):
            kind = "list" if isinstance(value, list) else "tuple"
            return {kind: [node(item, path + [str(i)]) for i, item in enumerate(value)]}
        if value is None:
            return {"none": None}
        if isinstance(value, str):
            return {"str": value}
        if not path:
            raise CheckpointError(f"save takes a mapping of names to arrays (a state_dict()) or a "
                            f"nested dict of them, not a {type(value).__name__}")
        name = ".".join(path)
        for kind, python_type in (("bool", bool), ("int", int), ("float", float)):
            if type(value) is python_type:   # exactly: a numpy float64 stays an array
                if kind == "int" and not _INT64.min <= value <= _INT64.max:
                    raise CheckpointError(f"the int under {name!r} is too large to store ({value})")
                return {kind: add(path, np.asarray(value))}
        return {"array": add(path, as_array(value, name))}

    return members, node(tree, [])


def encode(structure):
    """The structure record as a uint8 array of JSON text."""
    return np.frombuffer(json.dumps(structure, allow_nan=False).encode("utf-8"), dtype=np.uint8)


def unflatten(arrays, record):
    """The nested value described by `record` (the uint8 JSON array), leaves taken from `arrays`.

    Raises CheckpointError if the record is malformed or does not account for every
    array exactly once.
    """
    try:
        structure = json.loads(np.asarray(record, dtype=np.uint8).tobytes().decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"its structure record is not valid JSON ({type(error).__name__})") \
            from None
    used = set()

    def build(node, depth):
        if depth > MAX_DEPTH + 1 or not isinstance(node, dict) or len(node) != 1:
            raise CheckpointError(f"its structure record holds a malformed entry {str(node)[:60]!r}")
        (kind, body), = node.items()
        if kind == "dict" and isinstance(body, list):
            result = {}
            for pair in body:
                if not (isinstance(pair, list) and len(pair) == 2
                        and isinstance(pair[0], (str, int)) and not isinstance(pair[0], bool)):
                    raise CheckpointError(f"its structure record holds a malformed dict entry "
                                    f"{str(pair)[:60]!r}")
                if pair[0] in result:
                    raise CheckpointError(f"its structure record names the key {pair[0]!r} twice")
                result[pair[0]] = build(pair[1], depth + 1)
            return result
        if kind in ("list", "tuple") and isinstance(body, list):
            items = [build(item, depth + 1) for item in body]
            return items if kind == "list" else tuple(items)
        if kind == "none" and body is None:
            return None
        if kind == "str" and isinstance(body, str):
            return body
        if kind in ("array", "int", "float", "bool") and isinstance(body, str):
            if body not in arrays or body in used or body == STRUCTURE_KEY:
                raise CheckpointError(f"its structure record names the array {body!r}, which the file "
                                "does not hold" if body not in arrays else
                                f"its structure record uses the array {body!r} twice")
            used.add(body)
            array = arrays[body]
            if kind == "array":
                return array
            expected = {"int": "iu", "float": "f", "bool": "b"}[kind]
            if array.shape != () or array.dtype.kind not in expected:
                raise CheckpointError(f"the {kind} {body!r} is stored as an array of shape "
                                f"{array.shape} and dtype {array.dtype}")
            return {"int": int, "float": float, "bool": bool}[kind](array.item())
        raise CheckpointError(f"its structure record holds a malformed entry {str(node)[:60]!r}")

    try:
        tree = build(structure, 0)
    except RecursionError:
        raise CheckpointError("its structure record is nested too deeply") from None
    unused = [name for name in arrays if name not in used and name != STRUCTURE_KEY]
    if unused:
        raise CheckpointError(f"it holds arrays its structure record does not mention: "
                        f"{', '.join(map(repr, unused[:5]))}")
    return tree
