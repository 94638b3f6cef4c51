"""Checkpoints: a state dict, or a nested dict of them, saved as .npz, atomically, loaded without unpickling.

`save(state_dict, path)` writes every array to a temporary file in the same
folder, flushes it to disk, then renames it over `path` in one step
(`os.replace`): a crash leaves either the old checkpoint or the new one,
never half of one. `load(path)` reads arrays only: a pickle, an object array,
a truncated or a foreign file is refused with a `CheckpointError`, because
unpickling a file can run any code its author wanted. Every member is read
whole, so the zip's CRC-32 catches a flipped bit anywhere in an array, and the
member count is checked against the zip's end record, so a damaged directory
cannot silently drop arrays.

Nested values ({"model": ..., "optimizer": ..., "epoch": 3}) are stored flat,
one array per leaf under its dotted path, with a record of the nesting (see
minigrad/checkpoint_tree.py); `load` gives the same nesting back.

Hostile files: a member's declared size and its .npy header are checked
before anything is inflated, and the arrays together may not declare more
than `max_bytes` (default: MAX_INFLATION times the file's size, or
ALWAYS_ALLOWED bytes if that is more), so a small compressed "zip bomb"
cannot make `load` allocate gigabytes. Pass a larger `max_bytes` for a
trusted, highly compressed file.
"""
import math
import os
import re
import struct
import time
import zipfile
from collections.abc import Mapping

import numpy as np

from .engine import Tensor
from .validation import is_integer
from .checkpoint_tree import (NUMBER_KINDS, STRUCTURE_KEY, CheckpointError, encode, flatten,
                              needs_structure, unflatten)

__all__ = ["save", "load", "CheckpointError", "MAX_INFLATION", "ALWAYS_ALLOWED"]

MAX_INFLATION = 100          # load's default limit: arrays may declare 100x the file's size...
ALWAYS_ALLOWED = 64 * 2**20  # ...or 64 MiB, whichever is more (pass max_bytes to raise it)
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")   # a zip with members, an empty zip
_CHUNK = 1 << 24             # members are inflated 16 MiB at a time


def _checked_arrays(state_dict):
    """{member name: numpy array}, every key and value checked before anything touches the disk."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save takes a mapping of names to arrays (a state_dict()), or a nested "
                        f"dict of them, not a {type(state_dict).__name__}")
    members, structure = flatten(state_dict, _as_array)
    if needs_structure(state_dict):
        members[STRUCTURE_KEY] = encode(structure)
    return members


def _as_array(value, key):
    if isinstance(value, Tensor):
        value = value.data   # a checkpoint stores a tensor's values
    try:
        array = np.asarray(value)
    except ValueError as error:
        raise CheckpointError(f"the value under {key!r} is not an array: {error}") from None
    if array.dtype.kind not in NUMBER_KINDS:
        raise CheckpointError(f"the value under {key!r} has dtype {array.dtype}; a checkpoint holds "
                              "arrays of numbers, Python numbers, strings and None only (objects "
                              "would need pickle, which minigrad never writes nor reads)")
    return array


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
    """Write `state_dict` to `path` as .npz, atomically.

    `state_dict` is {name: array} (a model's state_dict()), or a nesting of
    dicts (str or int keys), lists and tuples whose leaves are arrays, Tensors,
    Python ints, floats, bools, strings or None, such as
    {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}.
    Every key and value is checked before anything is written: a key with a
    NUL byte or a backslash, two keys that give the same stored name, or a
    value that is not numbers raises CheckpointError naming the key. On any
    error the temporary file is removed and an existing checkpoint at `path`
    is left as it was; temporary files of saves to `path` killed midway are
    removed.
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
    _remove_stale_temporaries(folder, os.path.basename(path))
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}."
                                     f"{os.urandom(6).hex()}.tmp")
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


def _remove_stale_temporaries(folder, name):
    """Remove temporary files that saves to `name` left when their process was killed.

    A temporary file's name holds its writer's process id: it is stale when
    that process no longer runs (on systems without process ids to probe,
    when it is a day old), so a save running in parallel keeps its own.
    """
    pattern = re.compile(re.escape(f".{name}.") + r"(\d+)\.[0-9a-f]{12}\.tmp")
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match and not _writer_alive(int(match.group(1)), os.path.join(folder, entry)):
            try:
                os.remove(os.path.join(folder, entry))
            except OSError:
                pass


def _writer_alive(pid, temporary):
    if pid == os.getpid():
        return True
    if os.name != "posix":
        try:
            return time.time() - os.path.getmtime(temporary) < 86400
        except OSError:
            return False
    try:
        os.kill(pid, 0)   # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:       # it exists but belongs to another user
        return True
    return True


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


def load(path, max_bytes=None):
    """Read a checkpoint written by `save`: what was saved, with the same nesting and order.

    A flat {name: array} comes back as {name: numpy array}; a nested value
    with its dicts (str and int keys), lists, tuples and Python numbers.
    Never unpickles: a pickle, a .npz holding object arrays, a truncated or
    corrupted file, a directory or any other file raises CheckpointError
    saying what it found.

    Parameters:
        path: the file.
        max_bytes: the most bytes of arrays the file may declare; more is
            refused before anything is inflated. Default: MAX_INFLATION (100)
            times the file's size, or ALWAYS_ALLOWED (64 MiB) if that is more:
            an uncompressed checkpoint of any size always loads, a compressed
            "zip bomb" does not. Raise it for a trusted, highly compressed file.
    """
    path = os.fspath(path)
    if max_bytes is not None and (not is_integer(max_bytes) or max_bytes < 0):
        raise TypeError(f"max_bytes must be None or an integer >= 0, got {max_bytes!r}")
    if os.path.isdir(path):
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    with open(path, "rb") as file:
        head = file.read(8)
        if head[:4] not in _ZIP_MAGICS:
            raise CheckpointError(f"{path} is not a minigrad checkpoint (.npz): {_what_it_is(head)}")
        try:
            declared = _declared_member_count(file)
            size = file.seek(0, os.SEEK_END)
            file.seek(0)
            with zipfile.ZipFile(file) as archive:
                members = archive.infolist()
                if declared is not None and declared != len(members):
                    raise CheckpointError(f"{path} is a truncated or corrupt checkpoint: its end "
                                          f"record declares {declared} arrays, its directory "
                                          f"lists {len(members)}")
                _check_declared_sizes(members, size, max_bytes, path)
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
    if STRUCTURE_KEY not in state:
        return state
    try:
        return unflatten(state, state[STRUCTURE_KEY])
    except CheckpointError as error:
        raise CheckpointError(f"{path} is a corrupt checkpoint: {error}") from None


def _check_declared_sizes(members, size, max_bytes, path):
    """Refuse, before inflating anything, an archive whose members declare too many bytes."""
    for info in members:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(f"{path}: member {info.filename!r} uses zip compression method "
                                  f"{info.compress_type}; a checkpoint is stored or deflated "
                                  "(as numpy.savez and numpy.savez_compressed write it)")
    total = sum(info.file_size for info in members)
    limit = max(MAX_INFLATION * size, ALWAYS_ALLOWED) if max_bytes is None else max_bytes
    if total > limit:
        how = ("max_bytes" if max_bytes is not None else
               f"the default limit, {MAX_INFLATION} times the file's size or "
               f"{ALWAYS_ALLOWED} bytes")
        raise CheckpointError(f"{path} declares {total} bytes of arrays in a file of {size} "
                              f"bytes, more than {how} ({limit}); it may be a zip bomb. If you "
                              "trust the file, pass load(path, max_bytes=...) with a larger limit")


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
    """(key, array) of one .npy member: its header checked first, then inflated, never unpickled.

    The header's shape and dtype must account for exactly the member's declared
    size, so nothing is allocated for a header that lies; the data is read to
    its end, so zipfile checks its CRC-32.
    """
    name = info.filename
    if not name.endswith(".npy"):
        raise CheckpointError(f"{path} is a zip archive but not a checkpoint: its member {name!r} "
                              "is not a .npy array")
    key = name[:-len(".npy")]
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
        elif version in ((2, 0), (3, 0)):   # 3.0 differs only in allowing UTF-8 field names
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise CheckpointError(f"{path}: array {key!r} uses .npy format version {version}, "
                                  "which a checkpoint never holds")
        if dtype.hasobject:
            raise CheckpointError(f"{path} holds an object array ({key!r}: pickled Python "
                                  "objects); minigrad never unpickles, because that can run "
                                  "arbitrary code")
        if dtype.kind not in NUMBER_KINDS:
            raise CheckpointError(f"{path}: array {key!r} has dtype {dtype}; a checkpoint holds "
                                  "arrays of numbers only")
        count = math.prod(shape)
        held = info.file_size - member.tell()
        if held != count * dtype.itemsize:
            raise CheckpointError(f"{path} is a truncated or corrupt checkpoint: array {key!r} of "
                                  f"shape {shape} and dtype {dtype} needs "
                                  f"{count * dtype.itemsize} bytes, its member holds {held}")
        array = np.empty(count, dtype=dtype)   # its own, writeable memory
        buffer = memoryview(array.reshape(-1).view(np.uint8))
        done = 0
        while done < len(buffer):
            chunk = member.read(min(_CHUNK, len(buffer) - done))
            if not chunk:
                raise EOFError(f"array {key!r} ends after {done} of {len(buffer)} bytes")
            buffer[done:done + len(chunk)] = chunk
            done += len(chunk)
        if member.read(1):   # also makes zipfile reach the end and check the CRC
            raise CheckpointError(f"{path} is a corrupt checkpoint: array {key!r} holds more "
                                  "data than its header says")
    return key, array.reshape(shape, order="F" if fortran_order else "C")
