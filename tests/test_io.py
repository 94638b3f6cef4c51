"""minigrad.save / minigrad.load: atomic .npz checkpoints that are never unpickled."""
import os
import pickle
import zipfile

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.io import CheckpointError


def make_model(seed):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Dense(2, 4, activation="relu"), nn.Dense(4, 3))


def test_round_trip_keeps_keys_order_dtypes_and_values(tmp_path):
    state = {
        "0.weight": np.arange(6.0).reshape(2, 3),
        "layer.bias": np.arange(3, dtype=np.float32),
        "counts": np.array([1, 2, 3], dtype=np.int32),
        "flags": np.array([True, False]),
        "step": np.int64(7),               # numpy numbers become 0-d arrays
        "file": np.zeros(1),               # names np.savez could not take as keywords
        "allow_pickle": np.ones(1),
        "empty": np.zeros((0, 3)),
        "tensor": mg.Tensor(np.ones(2)),
    }
    path = tmp_path / "checkpoint.npz"
    mg.save(state, path)
    loaded = mg.load(path)
    assert list(loaded) == list(state)
    for key, value in state.items():
        expected = np.asarray(value)
        assert loaded[key].dtype == expected.dtype and loaded[key].shape == expected.shape
        np.testing.assert_array_equal(loaded[key], expected)
    with np.load(path, allow_pickle=False) as plain:     # an ordinary .npz for numpy
        np.testing.assert_array_equal(plain["0.weight"], state["0.weight"])


def test_a_model_moves_through_a_checkpoint(tmp_path):
    source, target = make_model(1), make_model(2)
    mg.save(source.state_dict(), tmp_path / "model.npz")
    target.load_state_dict(mg.load(tmp_path / "model.npz"))
    x = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())


@pytest.mark.parametrize("make_optimizer", [
    lambda ps: mg.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: mg.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99)),
])
def test_an_optimizer_resumes_from_a_checkpoint(tmp_path, make_optimizer):
    def train(model, optimizer, seed):
        rng = np.random.default_rng(seed)
        for _ in range(3):
            optimizer.zero_grad()
            x, y = rng.standard_normal((8, 2)), rng.standard_normal((8, 3))
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

    model = make_model(0)
    optimizer = make_optimizer(model.parameters())
    train(model, optimizer, seed=1)
    mg.save(model.state_dict(), tmp_path / "model.npz")
    mg.save(optimizer.state_dict(), tmp_path / "optimizer.npz")
    train(model, optimizer, seed=2)

    resumed = make_model(5)
    resumed_optimizer = make_optimizer(resumed.parameters())
    resumed.load_state_dict(mg.load(tmp_path / "model.npz"))
    resumed_optimizer.load_state_dict(mg.load(tmp_path / "optimizer.npz"))
    train(resumed, resumed_optimizer, seed=2)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value)


# -- atomic writes ---------------------------------------------------------------------------

def test_a_write_failing_midway_leaves_the_old_checkpoint_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = make_model(1).state_dict()
    mg.save(old, path)
    write_array = np.lib.format.write_array
    written = []

    def write_then_crash(file, array, **kwargs):
        if written:                            # the first array is written, then the "crash"
            file.write(b"partial")
            raise OSError("disk full")
        written.append(array)
        write_array(file, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_crash)
    with pytest.raises(OSError, match="disk full"):
        mg.save(make_model(2).state_dict(), path)
    monkeypatch.undo()
    assert written                             # it did fail midway, not before writing
    assert os.listdir(tmp_path) == ["model.npz"]
    loaded = mg.load(path)
    for key, value in old.items():
        np.testing.assert_array_equal(loaded[key], value)


def test_a_failing_rename_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"

    def refuse(src, dst):
        raise PermissionError("no")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        mg.save({"a": np.zeros(2)}, path)
    assert os.listdir(tmp_path) == []


def test_the_data_reaches_the_disk_before_the_rename(tmp_path, monkeypatch):
    events = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), replace(a, b))[1])
    mg.save({"a": np.zeros(2)}, tmp_path / "x.npz")
    assert events[:2] == ["fsync", "replace"]


def test_unsaveable_values_are_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(CheckpointError, match="'bad' has dtype object"):
        mg.save({"good": np.zeros(2), "bad": np.array([{"a": 1}], dtype=object)}, path)
    with pytest.raises(CheckpointError, match="dtype <U"):
        mg.save({"names": np.array(["a", "b"])}, path)
    with pytest.raises(CheckpointError, match="non-empty strings or integers, got 1.5"):
        mg.save({1.5: np.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="non-empty strings"):
        mg.save({"": np.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="'bad' has dtype object"):
        mg.save({"model": {"good": np.zeros(2)}, "bad": {1, 2}}, path)
    with pytest.raises(TypeError, match="mapping"):
        mg.save([np.zeros(2)], path)
    assert os.listdir(tmp_path) == []


# -- refusals on load --------------------------------------------------------------------------

UNPICKLED = []


def _record_unpickling():
    UNPICKLED.append(True)
    return "surprise"


class Payload:
    """An object whose unpickling would leave a trace, as a malicious one would run code."""

    def __reduce__(self):
        return _record_unpickling, ()


def test_a_checkpoint_holding_object_arrays_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, weight=np.zeros(2), payload=np.array([Payload()], dtype=object))
    with pytest.raises(CheckpointError, match="object array"):
        mg.load(path)
    assert UNPICKLED == []


def test_a_pickle_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"weight": Payload()}))
    with pytest.raises(CheckpointError, match="pickle"):
        mg.load(path)
    assert UNPICKLED == []


def test_a_truncated_checkpoint_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    mg.save(make_model(1).state_dict(), path)
    whole = path.read_bytes()
    for size in (len(whole) // 2, 30):
        path.write_bytes(whole[:size])
        with pytest.raises(CheckpointError, match="truncated or corrupt"):
            mg.load(path)


def test_a_corrupted_array_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    mg.save({"weight": np.arange(1000.0)}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF                       # one flipped byte inside the array
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        mg.load(path)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"weight,bias\n1,2\n", "not with the zip signature"),
    ("npy", "single .npy array"),
    ("zip", "member 'notes.txt' is not a .npy array"),
])
def test_foreign_files_are_refused(tmp_path, content, message):
    path = tmp_path / "file"
    if content == "npy":
        np.save(tmp_path / "file.npy", np.zeros(2))
        path = tmp_path / "file.npy"
    elif content == "zip":             # a valid array beside a member that is not one
        mg.save({"ok": np.zeros(1)}, tmp_path / "ok.npz")
        with zipfile.ZipFile(tmp_path / "ok.npz") as good, zipfile.ZipFile(path, "w") as archive:
            archive.writestr("weight.npy", good.read("ok.npy"))
            archive.writestr("notes.txt", "hello")
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        mg.load(path)


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "nope.npz")


# -- nested checkpoints -------------------------------------------------------------------------

def test_a_training_checkpoint_in_one_file_comes_back_with_its_nesting_and_types(tmp_path):
    model = make_model(0)
    optimizer = mg.optim.AdamW(model.parameters(), lr=0.01, amsgrad=True)
    model(np.ones((2, 2))).sum().backward()
    optimizer.step()
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3,
                  "best": 0.25, "done": False, "name": "run 1", "note": None,
                  "shape": (2, 3), "history": [1.5, 2.5], "counts": {7: 1, "x": 2}}
    path = tmp_path / "checkpoint.npz"
    mg.save(checkpoint, path)
    loaded = mg.load(path)

    def same(a, b):
        assert type(a) is type(b), (a, b)
        if isinstance(a, dict):
            assert list(a) == list(b)
            for key in a:
                same(a[key], b[key])
        elif isinstance(a, (list, tuple)):
            assert len(a) == len(b)
            for x, y in zip(a, b):
                same(x, y)
        elif isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b

    same(loaded, checkpoint)
    assert loaded["optimizer"]["state"][0]["step"] == 1      # int keys stay ints
    fresh = mg.optim.AdamW(make_model(1).parameters())
    fresh.load_state_dict(loaded["optimizer"])               # straight from the file
    with np.load(path, allow_pickle=False) as plain:         # flat, dotted names for numpy
        assert {"model.0.weight", "optimizer.state.0.exp_avg", "epoch"} <= set(plain.files)


def test_an_int_key_and_its_digits_cannot_both_be_saved(tmp_path):
    with pytest.raises(CheckpointError, match="two keys give the same stored name 'counts.7'"):
        mg.save({"counts": {7: 1, "7": 2}}, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_a_flat_state_dict_is_a_plain_npz_without_a_structure_record(tmp_path):
    mg.save(make_model(0).state_dict(), tmp_path / "model.npz")
    with zipfile.ZipFile(tmp_path / "model.npz") as archive:
        assert archive.namelist() == ["0.weight.npy", "0.bias.npy", "1.weight.npy", "1.bias.npy"]


@pytest.mark.parametrize("damage, message", [
    ("drop a member", "names the array 'b', which the file does not hold"),
    ("add a member", "arrays its structure record does not mention: 'extra'"),
    ("garble the record", "structure record is not valid JSON"),
    ("wrong kind", r"the int 'b' is stored as an array of shape \(2,\)"),
])
def test_a_structure_record_that_does_not_describe_the_file_is_refused(tmp_path, damage, message):
    from minigrad.checkpoint_tree import STRUCTURE_KEY
    source, path = tmp_path / "good.npz", tmp_path / "bad.npz"
    mg.save({"a": np.zeros(2), "b": 3}, source)
    with zipfile.ZipFile(source) as good, zipfile.ZipFile(path, "w") as bad:
        for name in good.namelist():
            data = good.read(name)
            if damage == "drop a member" and name == "b.npy":
                continue
            if damage == "garble the record" and name == STRUCTURE_KEY + ".npy":
                data = data[:-3] + b"}}}"
            if damage == "wrong kind" and name == "b.npy":
                data = good.read("a.npy")
            bad.writestr(name, data)
        if damage == "add a member":
            bad.writestr("extra.npy", good.read("a.npy"))
    with pytest.raises(CheckpointError, match=message):
        mg.load(path)


def _trees():
    from hypothesis import strategies as st
    keys = st.one_of(st.integers(0, 20), st.text(st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\x00\\"), min_size=1, max_size=4))
    leaves = st.one_of(st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False), st.booleans(),
                       st.none(), st.text(max_size=5),
                       st.builds(lambda n: np.arange(n, dtype=np.float32), st.integers(0, 3)))
    return st.dictionaries(keys, st.recursive(
        leaves, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                        st.tuples(inner, inner),
                                        st.dictionaries(keys, inner, max_size=3)),
        max_leaves=8), min_size=1, max_size=4)


def _same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            _same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b or (a != a and b != b)


def test_any_nested_value_comes_back_the_same_or_is_refused_before_writing(tmp_path):
    from hypothesis import given, settings

    @settings(max_examples=30, deadline=None)
    @given(_trees())
    def check(tree):
        path = tmp_path / "tree.npz"
        if path.exists():
            path.unlink()
        try:
            mg.save(tree, path)
        except CheckpointError as error:
            assert "same stored name" in str(error)      # a dotted key colliding with a nested one
            assert not path.exists()
            return
        _same(mg.load(path), tree)

    check()


def test_tensors_that_require_grad_save_and_load_as_their_values(tmp_path):
    model = nn.Dense(3, 2)
    state = {name: param for name, param in model.named_parameters()}   # Parameters, not arrays
    mg.save(state, tmp_path / "params.npz")
    loaded = mg.load(tmp_path / "params.npz")
    np.testing.assert_array_equal(loaded["weight"], model.weight.numpy())
    other = nn.Dense(3, 2)
    other.load_state_dict(state)                     # a state dict of Tensors loads too
    np.testing.assert_array_equal(other.weight.numpy(), model.weight.numpy())
