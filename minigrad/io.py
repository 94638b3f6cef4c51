"""Checkpoints: a state dict saved as .npz, written atomically, loaded without unpickling.

`save(state_dict, path)` writes every array to a temporary file in the same
folder, flushes it to disk, then renames it over `path` in one step
(`os.replace`): a crash leaves either the old checkpoint or the new one,
never half of one. `load(path)` reads arrays only: a pickle, an object array,
a truncated or a foreign file is refused with a `CheckpointError`, because
unpickling a file can run any code its author wanted. Every member is read
whole, so the zip's CRC-32 catches a flipped bit anywhere in an array, and the
member count is checked against the zip's end record, so a damaged directory
cannot silently drop arrays.
"""
import io
import math
import os
import struct
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
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot save a checkpoint to {path}: it is a directory; give a "
                                "file name such as model.npz")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save a checkpoint to {path}: the folder {folder} does "
                                "not exist")
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

    Never unpickles: a pickle, a .npz holding object arrays, a truncated or
    corrupted file, a directory or any other file raises CheckpointError
    saying what it found.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    with open(path, "rb") as file:
        head = file.read(8)
        if head[:4] not in _ZIP_MAGICS:
            raise CheckpointError(f"{path} is not a minigrad checkpoint (.npz): {_what_it_is(head)}")
        try:
            declared = _declared_member_count(file)
            file.seek(0)
            with zipfile.ZipFile(file) as archive:
                members = archive.infolist()
                if declared is not None and declared != len(members):
                    raise CheckpointError(f"{path} is a truncated or corrupt checkpoint: its end "
                                          f"record declares {declared} arrays, its directory "
                                          f"lists {len(members)}")
                state = {}
                for info in members:
                    key, array = _read_member(archive, info, path)
                    if key in state:
                        raise CheckpointError(f"{path} is a corrupt checkpoint: it holds two "
                                              f"arrays named {key!r}")
                    state[key] = array
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError, struct.error,
                NotImplementedError, RuntimeError) as error:
            # RuntimeError and NotImplementedError: a damaged header that reads as an
            # encrypted member or an unknown compression method.
            raise CheckpointError(f"{path} is a truncated or corrupt checkpoint: "
                                  f"{type(error).__name__}: {error}") from error
    return state


def _declared_member_count(file):
    """The number of members the zip's end-of-central-directory record declares (None: not found).

    zipfile trusts the directory entries it parses; a damaged entry (say, a comment
    length) can swallow the entries after it, and those arrays would vanish silently.
    """
    file.seek(0, os.SEEK_END)
    size = file.tell()
    start = max(0, size - (1 << 16) - 22)   # the record, then a comment of at most 64 KiB
    file.seek(start)
    tail = file.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None   # zipfile will refuse the file
    count = struct.unpack("<H", tail[at + 10:at + 12])[0]
    if count == 0xFFFF and at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":   # zip64
        file.seek(struct.unpack("<Q", tail[at - 12:at - 4])[0])
        record = file.read(56)
        if len(record) < 40 or record[:4] != b"PK\x06\x06":
            return None
        count = struct.unpack("<Q", record[32:40])[0]
    return count


def _read_member(archive, info, path):
    """(key, array) of one .npy member, checked against its CRC and its header, never unpickled."""
    name = info.filename
    if not name.endswith(".npy"):
        raise CheckpointError(f"{path} is a zip archive but not a checkpoint: its member {name!r} "
                              "is not a .npy array")
    key = name[:-len(".npy")]
    raw = archive.read(info)   # the whole member, so zipfile checks its CRC-32
    buffer = io.BytesIO(raw)
    version = np.lib.format.read_magic(buffer)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(buffer)
    elif version in ((2, 0), (3, 0)):   # 3.0 differs only in allowing UTF-8 field names
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(buffer)
    else:
        raise CheckpointError(f"{path}: array {key!r} uses .npy format version {version}, "
                              "which a checkpoint never holds")
    if dtype.hasobject:
        raise CheckpointError(f"{path} holds an object array ({key!r}: pickled Python objects); "
                              "minigrad never unpickles, because that can run arbitrary code")
    if dtype.kind not in _NUMBER_KINDS:
        raise CheckpointError(f"{path}: array {key!r} has dtype {dtype}; a checkpoint holds "
                              "arrays of numbers only")
    count = math.prod(shape)
    offset = buffer.tell()
    if len(raw) - offset != count * dtype.itemsize:
        raise CheckpointError(f"{path} is a truncated or corrupt checkpoint: array {key!r} of "
                              f"shape {shape} and dtype {dtype} needs {count * dtype.itemsize} "
                              f"bytes, its member holds {len(raw) - offset}")
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
    # A writeable array of its own (frombuffer's view of bytes is read-only).
    return key, array.reshape(shape, order="F" if fortran_order else "C").copy(order="K")
