"""The shared distance helpers against NumPy, with finite gradients at coincident points."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from _autodiff import autodiff, finite_differences, float64_context
from kerasloss._internal import distances, dtypes, masking, mining


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _reference(x, distance):
    diff = x[:, None, :] - x[None, :, :]
    squared = np.sum(diff**2, axis=-1)
    if distance == "squared_euclidean":
        return squared
    if distance == "euclidean":
        return np.sqrt(squared)
    unit = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return np.maximum(1 - unit @ unit.T, 0)


@pytest.mark.parametrize("distance", distances.DISTANCES)
def test_pairwise_distances_match_numpy(distance):
    x = np.random.default_rng(0).normal(size=(7, 5))
    with float64_context():
        got = _np(distances.pairwise_distances(keras.ops.convert_to_tensor(x), distance))
    np.testing.assert_allclose(got, _reference(x, distance), rtol=1e-12, atol=1e-12)
    if distance != "cosine":
        assert np.all(np.diag(got) == 0)


@pytest.mark.parametrize("distance", distances.DISTANCES)
def test_row_distance_matches_the_pairwise_diagonal_pairs(distance):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 6, 4))
    pairwise = _reference(np.concatenate([a, b]), distance)
    with float64_context():
        got = _np(distances.row_distance(a, b, distance))
    np.testing.assert_allclose(got, np.diag(pairwise[:6, 6:]), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_gradient_is_finite_with_identical_and_zero_embeddings(distance):
    x = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0], [3.0, -1.0]])

    def total(v):
        return keras.ops.sum(distances.pairwise_distances(v, distance))

    grad = autodiff(total, x)
    assert np.all(np.isfinite(grad))
    # Away from coincident points the gradient is the true one.
    y = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, -1.0]])
    np.testing.assert_allclose(
        autodiff(total, y),
        finite_differences(lambda v: np.sum(_reference(v, distance)), y),
        rtol=1e-5,
        atol=1e-6,
    )


def test_l2_normalize_keeps_zero_rows_zero_with_zero_gradient():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    with float64_context():
        got = _np(distances.l2_normalize(keras.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(got, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-15)
    grad = autodiff(lambda v: keras.ops.sum(distances.l2_normalize(v)), x)
    # d/dx of sum(x / ||x||) at (3, 4): (1 - 3 * 7 / 25, 1 - 4 * 7 / 25) / 5.
    np.testing.assert_allclose(grad[0], [(1 - 21 / 25) / 5, (1 - 28 / 25) / 5], rtol=1e-12)
    # Not 1 / NORM_FLOOR = 1e12, which would overflow float16 and swamp every other term.
    np.testing.assert_array_equal(grad[1], [0.0, 0.0])


def test_unknown_distance_is_rejected_by_name():
    with pytest.raises(ValueError, match="`distance` must be one of"):
        distances.check_distance("manhattan")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_sixteen_bit_inputs_compute_in_float32(dtype):
    assert dtypes.working_dtype(dtype) == "float32"
    assert dtypes.working_dtype("float64") == "float64"


# ------------------------------------------------------------------ masks and mining pieces


def test_label_masks_exclude_the_anchor_from_its_positives():
    positive, negative = masking.label_masks(np.array([3, 1, 3, 3]))
    np.testing.assert_array_equal(
        _np(positive),
        [[0, 0, 1, 1], [0, 0, 0, 0], [1, 0, 0, 1], [1, 0, 1, 0]],
    )
    np.testing.assert_array_equal(
        _np(negative),
        [[0, 1, 0, 0], [1, 0, 1, 1], [0, 1, 0, 0], [0, 1, 0, 0]],
    )


def test_masked_max_and_min_fall_back_to_the_row_extremes():
    x = np.array([[4.0, -1.0, 2.0], [0.5, 3.0, -2.0]])
    mask = np.array([[0, 1, 1], [0, 0, 0]], bool)
    np.testing.assert_allclose(_np(masking.masked_max(x, mask)), [2.0, -2.0])
    np.testing.assert_allclose(_np(masking.masked_min(x, mask)), [-1.0, 3.0])
    grad = autodiff(lambda v: keras.ops.sum(masking.masked_max(v, mask)), x)
    np.testing.assert_allclose(grad, [[0, 0, 1], [0, 0, 1]])


def test_sorted_by_mask_puts_masked_entries_first_in_order():
    x = np.array([[5.0, 1.0, 3.0, 2.0], [0.0, 9.0, 8.0, 7.0]])
    mask = np.array([[1, 0, 1, 1], [0, 0, 0, 0]], bool)
    keys, values, counts = mining.sorted_by_mask(x, mask)
    np.testing.assert_array_equal(_np(keys)[0], [2.0, 3.0, 5.0, np.inf])
    np.testing.assert_array_equal(_np(values)[0, :3], [2.0, 3.0, 5.0])
    np.testing.assert_array_equal(_np(keys)[1], [np.inf] * 4)
    np.testing.assert_array_equal(_np(counts), [3, 0])


@pytest.mark.parametrize("width", [1, 2, 7, 16])
def test_prefix_length_is_a_row_wise_searchsorted(width):
    rng = np.random.default_rng(width)
    rows = np.sort(rng.integers(0, 5, size=(6, width)).astype(np.float32), axis=1)
    queries = rng.integers(-1, 6, size=(6, 9)).astype(np.float32)
    got = _np(mining.prefix_length(rows, queries, lambda v, q: keras.ops.less_equal(v, q)))
    expected = [np.searchsorted(r, q, side="right") for r, q in zip(rows, queries, strict=True)]
    np.testing.assert_array_equal(got, expected)
