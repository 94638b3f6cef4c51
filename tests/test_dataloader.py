"""data.Dataset, TensorDataset and DataLoader: batches, epochs, reproducible shuffles, collation."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.data import DataLoader, Dataset, TensorDataset, default_collate

X = np.arange(20.0).reshape(10, 2)
Y = np.arange(10) * 10


def epoch(loader):
    return [tuple(np.array(part) for part in batch) for batch in loader]


def test_in_order_batches_cover_every_sample_and_the_last_is_smaller():
    batches = epoch(DataLoader(TensorDataset(X, Y), batch_size=4))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), X)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), Y)
    dropped = DataLoader(TensorDataset(X, Y), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [len(b[0]) for b in epoch(dropped)] == [4, 4]
    assert len(DataLoader(TensorDataset(X), batch_size=4)) == 3


def test_batch_sizes_match_torchs_dataloader():
    torch = pytest.importorskip("torch")
    for batch_size, drop_last in [(1, False), (3, False), (3, True), (10, False), (11, False)]:
        ours = DataLoader(TensorDataset(X, Y), batch_size=batch_size, drop_last=drop_last)
        theirs = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)),
            batch_size=batch_size, drop_last=drop_last)
        assert len(ours) == len(theirs)
        for (a, b), (c, d) in zip(ours, theirs):
            np.testing.assert_array_equal(a, c.numpy())
            np.testing.assert_array_equal(b, d.numpy())


def test_shuffled_epochs_are_new_permutations_that_keep_pairs_and_repeat_with_the_seed():
    loader = DataLoader(TensorDataset(X, Y), batch_size=3, shuffle=True, seed=5)
    first, second = epoch(loader), epoch(loader)
    for batches in (first, second):
        xs = np.concatenate([b[0] for b in batches])
        ys = np.concatenate([b[1] for b in batches])
        assert sorted(ys) == list(Y)
        np.testing.assert_array_equal(xs[:, 0], ys / 5)        # each x still with its y
    order = [np.concatenate([b[1] for b in e]) for e in (first, second)]
    assert not np.array_equal(order[0], order[1])              # a new order each epoch
    again = DataLoader(TensorDataset(X, Y), batch_size=3, shuffle=True, seed=5)
    for e, expected in zip((epoch(again), epoch(again)), order):
        np.testing.assert_array_equal(np.concatenate([b[1] for b in e]), expected)


def test_without_a_seed_shuffles_follow_manual_seed():
    loader = DataLoader(TensorDataset(X, Y), batch_size=4, shuffle=True)
    mg.manual_seed(11)
    one = np.concatenate([b[1] for b in loader])
    mg.manual_seed(11)
    two = np.concatenate([b[1] for b in loader])
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(one, Y)


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.array([i, i * i], dtype=float), "label": i % 2}


def test_a_custom_dataset_is_collated_key_by_key_or_by_a_collate_fn():
    batch = next(iter(DataLoader(Squares(), batch_size=3)))
    np.testing.assert_array_equal(batch["x"], [[0, 0], [1, 1], [2, 4]])
    np.testing.assert_array_equal(batch["label"], [0, 1, 0])
    sums = [b for b in DataLoader(Squares(), batch_size=2, collate_fn=len)]
    assert sums == [2, 2, 1]
    assert default_collate([(1, 2.0), (3, 4.0)]) == (pytest.approx([1, 3]), pytest.approx([2, 4]))


@pytest.mark.parametrize("call, error, message", [
    (lambda: DataLoader(TensorDataset(X), batch_size=0), ValueError,
     "DataLoader: batch_size must be a positive integer, got 0"),
    (lambda: DataLoader(TensorDataset(X), batch_size=2.0), TypeError, "batch_size"),
    (lambda: DataLoader(TensorDataset(X), shuffle="yes"), TypeError, "shuffle must be True or False"),
    (lambda: DataLoader(TensorDataset(X), seed=-1), ValueError, "seed must be None or a non-neg"),
    (lambda: DataLoader(X.tolist, batch_size=2), TypeError, "takes a dataset"),
    (lambda: DataLoader(TensorDataset(X), collate_fn=3), TypeError, "collate_fn must be"),
    (lambda: TensorDataset(X, Y[:5]), ValueError, r"same number of samples, got shapes \[\(10, 2\)"),
    (lambda: TensorDataset(), ValueError, "at least one array"),
    (lambda: iter(DataLoader(TensorDataset(X), batch_size=11, drop_last=True)), ValueError,
     "has no batch at all"),
    (lambda: default_collate([np.zeros(2), np.zeros(3)]), ValueError, "different shapes"),
])
def test_bad_arguments_are_refused_with_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
