"""minigrad.data: StandardScaler, train_test_split, batches (batch-first: samples x features)."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.data import StandardScaler, batches, train_test_split

RNG = np.random.default_rng(0)
TRAIN = RNG.random((70, 3)) * [100, 1, 10] + [0, 5, -3]
TEST = RNG.random((30, 3)) * 100


def test_scaler_equals_document_twos_per_feature_scalers():
    scaler = StandardScaler()
    assert scaler.fit(TRAIN) is scaler                       # as scikit-learn's
    # Document two, in its layout (features x samples): one scaler per row, from training data.
    rows_train, rows_test = TRAIN.T, TEST.T
    means = [row.mean() for row in rows_train]
    stds = [row.std() for row in rows_train]
    document_test = np.array([(row - mu) / sd for row, mu, sd in zip(rows_test, means, stds)])
    np.testing.assert_allclose(scaler.transform(TEST), document_test.T, rtol=1e-13, atol=1e-13)
    standardized = scaler.transform(TRAIN)
    np.testing.assert_allclose(standardized.mean(axis=0), 0, atol=1e-13)
    np.testing.assert_allclose(standardized.std(axis=0), 1, rtol=1e-13)
    # Un-standardising (the document's unstandardize) gives the data back.
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(TEST)), TEST, rtol=1e-13)


def test_fit_transform_is_fit_then_transform_and_uses_training_statistics_only():
    scaler = StandardScaler()
    np.testing.assert_array_equal(scaler.fit_transform(TRAIN),
                                  StandardScaler().fit(TRAIN).transform(TRAIN))
    np.testing.assert_array_equal(scaler.mean_, TRAIN.mean(axis=0))
    assert scaler.n_features_in_ == 3
    assert abs(scaler.transform(TEST).mean(axis=0)).max() > 0.1    # the test set is not re-centred


def test_a_constant_feature_is_centred_not_divided_by_zero():
    X = np.column_stack([np.arange(5.0), np.full(5, 7.0)])
    out = StandardScaler().fit_transform(X)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[:, 1], 0)


def test_scaler_keeps_float32_and_makes_integers_float64():
    assert StandardScaler().fit_transform(TRAIN.astype(np.float32)).dtype == np.float32
    assert StandardScaler().fit_transform(np.arange(6).reshape(3, 2)).dtype == np.float64


def test_scaler_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="before fit"):
        StandardScaler().transform(TRAIN)
    scaler = StandardScaler().fit(TRAIN)
    with pytest.raises(ValueError, match=r"fitted on 3 features, got an array of shape \(4, 2\)"):
        scaler.transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        scaler.fit(np.arange(5.0))


def test_split_without_shuffle_is_document_twos_first_70_last_30():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_ratio=0.3, shuffle=False)
    n_train = int(0.7 * 10)            # the document's num_train_datum
    np.testing.assert_array_equal(X_train, X[:n_train])
    np.testing.assert_array_equal(X_test, X[n_train:])
    np.testing.assert_array_equal(y_test, y[n_train:])


def test_shuffled_split_is_a_reproducible_partition_that_keeps_pairs():
    X, y = np.arange(200.0).reshape(100, 2), np.arange(100)
    first = train_test_split(X, y, test_ratio=0.25, seed=3)
    second = train_test_split(X, y, test_ratio=0.25, seed=3)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    X_train, X_test, y_train, y_test = first
    assert len(X_test) == 25 and len(X_train) == 75
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(100))
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)      # rows stay with their targets
    assert not np.array_equal(y_train, np.arange(75))               # it did shuffle
    different = train_test_split(X, y, test_ratio=0.25, seed=4)[2]
    assert not np.array_equal(different, y_train)


def test_split_without_seed_follows_manual_seed():
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20)
    mg.manual_seed(5)
    first = train_test_split(X, y)[3]
    mg.manual_seed(5)
    np.testing.assert_array_equal(train_test_split(X, y)[3], first)


def test_split_sizes_and_errors():
    X, y = np.zeros((10, 2)), np.zeros(10)
    assert len(train_test_split(X, y, test_ratio=0.3, shuffle=False)[1]) == 3
    # 0.07 * 100 is 7.000000000000001 in floating point; the test set still gets 7, not 8.
    assert len(train_test_split(np.zeros((100, 1)), np.zeros(100), test_ratio=0.07)[1]) == 7
    assert len(train_test_split(X, y, test_ratio=0.01)[1]) == 1
    with pytest.raises(ValueError, match=r"X has 10 samples \(shape \(10, 2\)\) but y has 9"):
        train_test_split(X, y[:9])
    with pytest.raises(ValueError, match="between 0 and 1"):
        train_test_split(X, y, test_ratio=1.0)
    with pytest.raises(ValueError, match="leaves no training samples"):
        train_test_split(X, y, test_ratio=0.95)


def test_batches_cover_every_sample_once_in_order_without_shuffle():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    got = list(batches(X, y, batch_size=4, shuffle=False))
    assert [len(yb) for _, yb in got] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in got]), y)
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in got]), X)
    assert [len(yb) for _, yb in batches(X, y, 4, shuffle=False, drop_last=True)] == [4, 4]


def test_shuffled_batches_are_a_reproducible_permutation_keeping_pairs():
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20)
    order = np.concatenate([yb for _, yb in batches(X, y, 6, seed=1)])
    assert sorted(order.tolist()) == list(range(20)) and not np.array_equal(order, y)
    again = np.concatenate([yb for _, yb in batches(X, y, 6, seed=1)])
    np.testing.assert_array_equal(order, again)
    for xb, yb in batches(X, y, 6, seed=2):
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)


def test_batches_check_their_arguments_at_the_call():
    X, y = np.zeros((10, 2)), np.zeros(10)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        batches(X, y, 0)                      # not only when iterated
    with pytest.raises(ValueError, match="y has 8"):
        batches(X, y[:8], 4)
