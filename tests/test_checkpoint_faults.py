"""Checkpoints survive faults: a save interrupted at any point leaves the previous checkpoint intact
and no temporary file behind; a damaged, foreign or unsafe file is refused with a CheckpointError.
"""
import os
import pickle
import subprocess
import sys
import textwrap
import warnings
import zipfile

import numpy as np
import pytest

import minigrad as mg
from minigrad.io import CheckpointError

OLD = {"0.weight": np.arange(6.0).reshape(2, 3), "0.bias": np.arange(2, dtype=np.float32),
       "step": np.array(7)}
NEW = {"0.weight": -np.ones((2, 3)), "0.bias": np.zeros(2, dtype=np.float32), "step": np.array(8)}


def assert_state(loaded, expected):
    assert list(loaded) == list(expected)
    for key, value in expected.items():
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape
        np.testing.assert_array_equal(loaded[key], value)


@pytest.fixture
def old_checkpoint(tmp_path):
    path = tmp_path / "model.npz"
    mg.save(OLD, path)
    return path


# -- interrupted saves ------------------------------------------------------------------------

class Crash(Exception):
    pass


@pytest.mark.parametrize("array_index", [0, 1, 2])
@pytest.mark.parametrize("error", [Crash("disk full"), KeyboardInterrupt()])
def test_a_save_failing_while_writing_an_array_keeps_the_old_checkpoint(old_checkpoint, monkeypatch,
                                                                      array_index, error):
    write_array = np.lib.format.write_array
    calls = []

    def write_then_fail(file, array, **kwargs):
        calls.append(1)
        if len(calls) - 1 == array_index:
            file.write(b"\x93NUMPY half an array")
            raise error
        write_array(file, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(type(error)):
        mg.save(NEW, old_checkpoint)
    monkeypatch.undo()
    assert len(calls) == array_index + 1                 # it did fail where intended
    assert os.listdir(old_checkpoint.parent) == ["model.npz"]
    assert_state(mg.load(old_checkpoint), OLD)


@pytest.mark.parametrize("stage", ["open", "fsync", "rename"])
def test_a_save_failing_at_each_step_keeps_the_old_checkpoint(old_checkpoint, monkeypatch, stage):
    def fail(*args, **kwargs):
        raise OSError(f"failed at {stage}")

    target = {"open": "open", "fsync": "fsync", "rename": "replace"}[stage]
    original = getattr(os, target)
    if stage == "open":     # only the temporary file's open: the folder fsync opens too
        monkeypatch.setattr(os, "open", lambda path, *a, **k: fail() if str(path).endswith(".tmp")
                            else original(path, *a, **k))
    else:
        monkeypatch.setattr(os, target, fail)
    with pytest.raises(OSError, match=f"failed at {stage}"):
        mg.save(NEW, old_checkpoint)
    monkeypatch.undo()
    assert os.listdir(old_checkpoint.parent) == ["model.npz"]
    assert_state(mg.load(old_checkpoint), OLD)


def test_a_failing_folder_sync_after_the_rename_leaves_the_complete_new_checkpoint(old_checkpoint,
                                                                                 monkeypatch):
    fsync = os.fsync
    calls = []

    def second_fsync_fails(fd):
        calls.append(fd)
        if len(calls) == 2:                              # the first syncs the file, then the folder
            raise OSError("folder sync failed")
        fsync(fd)

    monkeypatch.setattr(os, "fsync", second_fsync_fails)
    with pytest.raises(OSError, match="folder sync failed"):
        mg.save(NEW, old_checkpoint)
    monkeypatch.undo()
    assert os.listdir(old_checkpoint.parent) == ["model.npz"]
    assert_state(mg.load(old_checkpoint), NEW)           # either old or new, never half


def test_a_process_killed_mid_save_leaves_the_old_checkpoint_loadable(old_checkpoint):
    script = textwrap.dedent(f"""
        import os
        import numpy as np
        import minigrad as mg
        write_array = np.lib.format.write_array
        def write_then_die(file, array, **kwargs):
            write_array(file, array, **kwargs)
            file.flush()
            os._exit(3)                                  # no cleanup, as a power cut
        np.lib.format.write_array = write_then_die
        mg.save({{"w": np.ones(1000)}}, {str(old_checkpoint)!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == 3, result.stderr.decode()
    leftovers = sorted(os.listdir(old_checkpoint.parent))
    assert leftovers[0].startswith(".model.npz.") and leftovers[0].endswith(".tmp")
    assert leftovers[1:] == ["model.npz"]
    assert_state(mg.load(old_checkpoint), OLD)
    mg.save(NEW, old_checkpoint)                         # a later save is not blocked by it
    assert_state(mg.load(old_checkpoint), NEW)
    assert os.listdir(old_checkpoint.parent) == ["model.npz"]   # and removes it


# -- damaged files ---------------------------------------------------------------------------------

def test_every_truncation_is_refused(old_checkpoint):
    whole = old_checkpoint.read_bytes()
    for size in range(len(whole)):
        old_checkpoint.write_bytes(whole[:size])
        with pytest.raises(CheckpointError, match="empty|zip signature|truncated or corrupt"):
            mg.load(old_checkpoint)


def test_every_single_bit_flip_is_refused_or_harmless(old_checkpoint):
    # A flip in a field zipfile does not use (a timestamp, a version) may load; a flip anywhere
    # else must be refused, never give different arrays or a different set of keys.
    whole = old_checkpoint.read_bytes()
    refused = 0
    for offset in range(len(whole)):
        damaged = bytearray(whole)
        damaged[offset] ^= 1 << (offset % 8)
        old_checkpoint.write_bytes(bytes(damaged))
        try:
            loaded = mg.load(old_checkpoint)
        except CheckpointError:
            refused += 1
            continue
        assert_state(loaded, OLD)
    assert refused > len(whole) // 2


def test_a_flipped_bit_in_array_data_fails_the_crc(old_checkpoint):
    data = bytearray(old_checkpoint.read_bytes())
    at = data.index(np.arange(6.0).tobytes())           # the weight's values
    data[at + 20] ^= 0x10
    old_checkpoint.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="truncated or corrupt.*CRC"):
        mg.load(old_checkpoint)


def test_a_damaged_directory_entry_cannot_drop_arrays_silently(old_checkpoint):
    # A larger comment length in the first directory entry swallows the entries after it:
    # zipfile alone would list one array and load it without complaint.
    data = bytearray(old_checkpoint.read_bytes())
    entry = data.index(b"PK\x01\x02")
    data[entry + 33] ^= 0x01                             # high byte of the comment length
    old_checkpoint.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="declares 3 arrays, its directory lists 1"):
        mg.load(old_checkpoint)


def test_a_header_that_disagrees_with_its_data_is_refused(tmp_path):
    # A consistent CRC (the member was written this way) but a header promising more data.
    path = tmp_path / "model.npz"
    header = {"descr": "<f8", "fortran_order": False, "shape": (100,)}
    with zipfile.ZipFile(path, "w") as archive, archive.open("w.npy", "w") as member:
        np.lib.format.write_array_header_1_0(member, header)
        member.write(np.zeros(10).tobytes())
    with pytest.raises(CheckpointError, match=r"'w' of shape \(100,\).*needs 800 bytes.*holds 80"):
        mg.load(path)


def test_two_arrays_with_one_name_are_refused(tmp_path):
    path = tmp_path / "model.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # zipfile warns about the duplicate
        with zipfile.ZipFile(path, "w") as archive:
            for value in (np.zeros(2), np.ones(2)):
                with archive.open("w.npy", "w") as member:
                    np.lib.format.write_array(member, value)
    with pytest.raises(CheckpointError, match="two arrays named 'w'"):
        mg.load(path)


# -- files that are not checkpoints -----------------------------------------------------------------

UNPICKLED = []


class Payload:
    def __reduce__(self):
        return UNPICKLED.append, ("unpickled!",)


def write_foreign(path, kind):
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"weight": Payload()}))
    elif kind == "pickle protocol 0":
        path.write_bytes(pickle.dumps({"weight": 1.0}, protocol=0))
    elif kind == "text":
        path.write_bytes(b"weight,bias\n1,2\n")
    elif kind == "zip signature then garbage":
        path.write_bytes(b"PK\x03\x04" + os.urandom(200))
    elif kind == "foreign zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "hello")
    elif kind == "object array":
        with open(path, "wb") as file:
            np.savez(file, weight=np.zeros(2), payload=np.array([Payload()], dtype=object))
    elif kind == "string array":
        with open(path, "wb") as file:
            np.savez(file, names=np.array(["a", "b"]))
    elif kind == "single npy":
        with open(path, "wb") as file:
            np.save(file, np.zeros(2))


@pytest.mark.parametrize("kind, message", [
    ("empty", "the file is empty"),
    ("pickle", "looks like a Python pickle"),
    ("pickle protocol 0", "looks like a Python pickle"),
    ("text", "not with the zip signature"),
    ("zip signature then garbage", "truncated or corrupt"),
    ("foreign zip", "member 'notes.txt' is not a .npy array"),
    ("object array", "holds an object array .'payload'"),
    ("string array", "array 'names' has dtype <U1; a checkpoint holds arrays of numbers only"),
    ("single npy", "single .npy array"),
])
def test_foreign_and_unsafe_files_are_refused_without_unpickling(tmp_path, kind, message):
    path = tmp_path / "model.npz"
    write_foreign(path, kind)
    with pytest.raises(CheckpointError, match=message) as error:
        mg.load(path)
    assert str(path) in str(error.value)
    assert UNPICKLED == []


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="is a directory, not a checkpoint file"):
        mg.load(tmp_path)


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


def test_valid_npz_files_from_numpy_load(tmp_path):
    # Not written by minigrad, still plain arrays: compressed members and a v3.0 .npy header.
    compressed = tmp_path / "compressed.npz"
    np.savez_compressed(compressed, a=np.arange(4.0), b=np.eye(2, dtype=np.float32).T)
    loaded = mg.load(compressed)
    np.testing.assert_array_equal(loaded["b"], np.eye(2))
    assert loaded["b"].dtype == np.float32 and loaded["a"].flags.writeable
    v3 = tmp_path / "v3.npz"
    with zipfile.ZipFile(v3, "w") as archive, archive.open("w.npy", "w") as member:
        np.lib.format.write_array(member, np.arange(3.0), version=(3, 0))
    np.testing.assert_array_equal(mg.load(v3)["w"], np.arange(3.0))


# -- hostile sizes: refused before anything is inflated -----------------------------------------

def _bomb(path, megabytes=80):
    """A legal but highly compressed checkpoint: 80 MB of zeros in a file of about 80 KB."""
    np.savez_compressed(path, w=np.zeros(megabytes * 2**20 // 8))
    return path


def test_a_zip_bomb_is_refused_from_its_declared_sizes_before_inflating(tmp_path):
    import tracemalloc
    path = _bomb(tmp_path / "bomb.npz")
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"declares 8388\d+ bytes of arrays in a file of "
                                                  r"\d+ bytes.*zip bomb.*max_bytes"):
            mg.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20                            # nothing near the 80 MB was allocated


def test_the_limit_can_be_raised_for_a_trusted_file(tmp_path):
    path = _bomb(tmp_path / "trusted.npz", megabytes=70)
    loaded = mg.load(path, max_bytes=2**30)
    assert loaded["w"].shape == (70 * 2**20 // 8,) and not loaded["w"].any()
    with pytest.raises(CheckpointError, match=r"more than max_bytes \(1000\)"):
        mg.load(path, max_bytes=1000)
    with pytest.raises(TypeError, match="max_bytes must be None or an integer"):
        mg.load(path, max_bytes=-1)


def test_an_uncompressed_checkpoint_is_never_refused_for_its_size(tmp_path):
    path = tmp_path / "big.npz"
    mg.save({"w": np.ones(9 * 2**20 // 8)}, path)     # 9 MB: 100x its own size is plenty
    assert mg.load(path, max_bytes=None)["w"].sum() == 9 * 2**20 // 8


def test_a_member_whose_header_promises_more_than_its_declared_size_is_refused(tmp_path):
    # A header claiming 10^12 floats in a small member: refused before any allocation.
    path = tmp_path / "liar.npz"
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    with zipfile.ZipFile(path, "w") as archive, archive.open("w.npy", "w") as member:
        np.lib.format.write_array_header_1_0(member, header)
        member.write(np.zeros(10).tobytes())
    with pytest.raises(CheckpointError, match=r"needs 8000000000000 bytes, its member holds 80"):
        mg.load(path)


def test_other_compression_methods_are_refused(tmp_path):
    path = tmp_path / "bz2.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as archive:
        with archive.open("w.npy", "w") as member:
            np.lib.format.write_array(member, np.zeros(3))
    with pytest.raises(CheckpointError, match="compression method 12"):
        mg.load(path)


# -- names a zip cannot keep: refused by save, before anything is written -------------------------

@pytest.mark.parametrize("state, message", [
    ({"w\x00x": np.zeros(1)}, "NUL byte"),
    ({"a\\b": np.zeros(1)}, "backslash"),
    ({"bad\udc80": np.zeros(1)}, "cannot be encoded as UTF-8"),
    ({"caf\u00e9": np.zeros(1), "cafe\u0301": np.ones(1)}, "give the same stored name"),
    ({"a.b": np.zeros(1), "a": {"b": np.ones(1)}}, r"two keys give the same stored name 'a\.b'"),
    ({"model": {"w\x00": np.zeros(1)}}, "NUL byte"),
    ({"__minigrad_structure__": np.zeros(1)}, "reserved"),
])
def test_a_key_a_zip_cannot_round_trip_is_refused_by_save(old_checkpoint, state, message):
    before = old_checkpoint.read_bytes()
    with pytest.raises(CheckpointError, match=message):
        mg.save(state, old_checkpoint)
    assert old_checkpoint.read_bytes() == before
    assert os.listdir(old_checkpoint.parent) == ["model.npz"]


# -- temporary files of killed saves --------------------------------------------------------------

def _dead_pid():
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, timeout=60)
    return int(finished.stdout)


@pytest.mark.skipif(os.name != "posix", reason="process ids are probed on POSIX systems")
def test_the_next_save_removes_a_killed_saves_temporary_file_and_keeps_a_running_ones(
        old_checkpoint):
    folder = old_checkpoint.parent
    dead = folder / f".model.npz.{_dead_pid()}.0123456789ab.tmp"
    running = folder / f".model.npz.{os.getpid()}.0123456789ab.tmp"
    other = folder / f".other.npz.{_dead_pid()}.0123456789ab.tmp"      # another file's
    for path in (dead, running, other):
        path.write_bytes(b"half a checkpoint")
    mg.save(NEW, old_checkpoint)
    assert sorted(os.listdir(folder)) == sorted(["model.npz", running.name, other.name])
    assert_state(mg.load(old_checkpoint), NEW)


def test_every_single_bit_flip_in_a_nested_checkpoint_is_refused_or_harmless(tmp_path):
    path = tmp_path / "run.npz"
    nested = {"model": {"w": np.arange(3.0)}, "epoch": 4, "opt": {"state": {0: {"step": 2}}},
              "betas": (0.9, 0.99), "name": "x"}
    mg.save(nested, path)
    whole = path.read_bytes()
    refused = 0
    for offset in range(len(whole)):
        damaged = bytearray(whole)
        damaged[offset] ^= 1 << (offset % 8)
        path.write_bytes(bytes(damaged))
        try:
            loaded = mg.load(path)
        except CheckpointError:
            refused += 1
            continue
        assert list(loaded) == list(nested) and loaded["epoch"] == 4 and loaded["name"] == "x"
        assert loaded["opt"] == {"state": {0: {"step": 2}}} and loaded["betas"] == (0.9, 0.99)
        np.testing.assert_array_equal(loaded["model"]["w"], np.arange(3.0))
    assert refused > len(whole) // 2
