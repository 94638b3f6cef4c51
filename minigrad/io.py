"""Checkpoints: a state dict saved as .npz, written atomically, loaded without unpickling.

`save(state_dict, path)` writes every array to a temporary file in the same
folder, flushes it to disk, then renames it over `path` in one step
(`os.replace`): a crash leaves either the old checkpoint or the new one,
never half of one. `load(path)` reads arrays only: a pickle, an object array,
a truncated or a foreign file is refused with a `CheckpointError`, because
unpickling a file can run any code its author wanted.
"""
import os
import zipfile
from collections.abc import Mapping

import numpy as np

__all__ = ["save", "load", "CheckpointError"]

_NUMBER_KINDS = "biufc"   # bool, integers, floats, complex: what a checkpoint may hold
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")   # a zip with members, an empty zip


class CheckpointError(ValueError):
    """A state dict that cannot be saved as plain arrays, or a file that is not a safe checkpoint."""


def _checked_arrays(state_dict):
    """{key: numpy array}, every value checked before anything touches the disk."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save takes a mapping of names to arrays (a state_dict()), "
                        f"not a {type(state_dict).__name__}")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str) or not key:
            raise CheckpointError(f"checkpoint keys must be non-empty strings, got {key!r}")
        if isinstance(value, Mapping):
            raise CheckpointError(f"the value under {key!r} is a {type(value).__name__}; a checkpoint "
                                  "is flat: join nested names with dots instead ('model.0.weight')")
        try:
            array = np.asarray(value)
        except ValueError as error:
            raise CheckpointError(f"the value under {key!r} is not an array: {error}") from None
        if array.dtype.kind not in _NUMBER_KINDS:
            raise CheckpointError(f"the value under {key!r} has dtype {array.dtype}; a checkpoint holds "
                                  "arrays of numbers only (objects would need pickle, which "
                                  "minigrad never writes nor reads)")
        arrays[key] = array
    return arrays


def _write_npz(file, arrays):
    """An uncompressed .npz, as numpy.savez writes it, but with allow_pickle=False.

    Writing the members here, rather than calling np.savez(file, **arrays),
    also lets a key be any string, "file" and "allow_pickle" included.
    """
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            with archive.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX); folders cannot be opened on Windows."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(state_dict, path):
    """Write `state_dict` ({name: array}) to `path` as .npz, atomically.

    Values may be numpy arrays, Tensors or numbers; keys any non-empty strings
    (dots included). Nothing is written unless every value is an array of
    numbers. On any error the temporary file is removed and an existing
    checkpoint at `path` is left as it was.
    """
    arrays = _checked_arrays(state_dict)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    # In the same folder, so the rename never crosses file systems (which would copy, not rename).
    # O_EXCL: never reuse an existing file; mode 0o666 lets the umask decide, as for any new file.
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{os.urandom(6).hex()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            _write_npz(file, arrays)
            file.flush()
            os.fsync(file.fileno())   # the data is on disk before the name points at it
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def _what_it_is(head):
    if not head:
        return "the file is empty"
    if head.startswith(b"\x80") or head.startswith(b"(") or head.startswith(b"}"):
        return ("it looks like a Python pickle (pickle.dump, or an old torch.save); minigrad never "
                "unpickles, because loading a pickle can run arbitrary code")
    if head.startswith(b"\x93NUMPY"):
        return ("it is a single .npy array, not a checkpoint of named arrays; read it with "
                "numpy.load(path, allow_pickle=False)")
    return f"it starts with {head[:8]!r}, not with the zip signature of a .npz"


def load(path):
    """Read a checkpoint written by `save`: {name: numpy array}, in the order saved.

    Never unpickles: a pickle, a .npz holding object arrays, a truncated file
    or any other file raises CheckpointError saying what it found.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        head = file.read(8)
        if head[:4] not in _ZIP_MAGICS:
            raise CheckpointError(f"{path} is not a minigrad checkpoint (.npz): {_what_it_is(head)}")
        file.seek(0)
        try:
            with np.load(file, allow_pickle=False) as archive:
                state = {}
                for key in archive.files:
                    value = archive[key]   # bytes for a member that is not a .npy array
                    if not isinstance(value, np.ndarray):
                        raise CheckpointError(f"{path} is a zip archive but not a checkpoint: its "
                                              f"member {key!r} is not a .npy array")
                    state[key] = value
        except CheckpointError:
            raise
        except ValueError as error:
            if "allow_pickle" in str(error):
                raise CheckpointError(f"{path} holds an object array (pickled Python objects); "
                                      "minigrad never unpickles, because that can run arbitrary "
                                      "code") from error
            raise CheckpointError(f"{path} is a truncated or corrupt checkpoint: {error}") from error
        except (zipfile.BadZipFile, EOFError, OSError, KeyError) as error:
            raise CheckpointError(f"{path} is a truncated or corrupt checkpoint: "
                                  f"{type(error).__name__}: {error}") from error
    return state
