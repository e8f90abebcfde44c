"""The shared distance helpers against NumPy, with finite gradients at coincident points."""

from __future__ import annotations

import inspect
import math
import time

import keras
import numpy as np
import pytest

import _reference as ref
import _reference_focal as rf
import kerasloss
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


# ------------------------------------------------------------------ accurate pairwise distances

U32 = 2.0**-24  # float32's unit roundoff


def _near_pairs(angle_degrees, norm, pairs=48, dim=128, seed=0):
    """`pairs` random directions, each with a partner `angle_degrees` away: (2 pairs, dim)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(pairs, dim))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    t = rng.normal(size=(pairs, dim))
    t -= (t * a).sum(1, keepdims=True) * a
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    angle = np.deg2rad(angle_degrees)
    return (norm * np.concatenate([a, np.cos(angle) * a + np.sin(angle) * t])).astype(np.float32)


def _cluster(angle_degrees, norm, size=96, dim=128, seed=1):
    """`size` unit vectors (times `norm`) spread about `angle_degrees` around one direction."""
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=dim)
    spread = np.deg2rad(angle_degrees) * rng.normal(size=(size, dim)) / np.sqrt(dim)
    x = centre / np.linalg.norm(centre) + spread
    return (norm * x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _exact_distances(x):
    """Pairwise distances of float32 points, by differences in float64 (exact to 1e-16)."""
    x = np.asarray(x, np.float64)
    return np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))


def _documented_bound(x, d):
    """The error bound of `pairwise_squared_euclidean`'s docstring, for d = ||x_i - x_j||."""
    x = np.asarray(x, np.float64)
    dim = x.shape[1]
    radius = np.linalg.norm(x - x.mean(0), axis=1).max()
    e = 2.0**-12 * (9 * dim + 27) * np.sqrt(dim) * U32 * radius**2
    with np.errstate(divide="ignore"):
        return np.minimum(np.sqrt(e), e / d) + 4 * U32 * radius + 3 * U32 * d


NEAR_POINTS = {
    **{
        f"pairs_{angle}deg_norm{norm:g}": (_near_pairs, angle, norm)
        for angle in (1.0, 1e-3)
        for norm in (1.0, 100.0)
    },
    **{
        f"cluster_{angle}deg_norm{norm:g}": (_cluster, angle, norm)
        for angle in (1.0, 1e-3)
        for norm in (1.0, 100.0)
    },
}


@pytest.mark.parametrize("points", list(NEAR_POINTS))
def test_float32_distances_of_near_identical_points_are_within_the_documented_bound(points):
    make, angle, norm = NEAR_POINTS[points]
    x = make(angle, norm)
    expected = _exact_distances(x)
    got = _np(distances.pairwise_distances(x, "euclidean")).astype(np.float64)
    assert got.dtype == np.float64 and np.all(np.diag(got) == 0)
    np.testing.assert_array_equal(got, got.T)
    error = np.abs(got - expected)
    assert np.all(error <= _documented_bound(x, expected))
    # The typical error, which the worst-case bound does not show. Measured on every
    # backend: at 1 degree a relative error below 1e-6 (the plain Gram form: 1.2e-3);
    # spread-out pairs 0.001 degree apart (d = 1.7e-5 |x|) are not resolved, 1.8e-5 |x|
    # absolute (the Gram form: 8.7e-4 |x|); a cluster that tight is, to 1.3e-7 relative.
    partner = np.roll(np.arange(len(x)), len(x) // 2) if make is _near_pairs else None
    if make is _cluster or angle == 1.0:
        near = expected < 0.1 * norm
        off = ~np.eye(len(x), dtype=bool)
        relative = error[near & off] / expected[near & off]
        assert relative.size and relative.max() < 1e-5, relative.max()
    else:
        assert error[np.arange(len(x)), partner].max() < 1e-4 * norm


@pytest.mark.parametrize("seed", [0, 1])
def test_float32_distances_of_random_points_are_within_the_documented_bound(seed):
    rng = np.random.default_rng(seed)
    for x in (rng.normal(size=(64, 32)), 1e3 * rng.normal(size=(50, 3)) + 5e3):
        x = x.astype(np.float32)
        expected = _exact_distances(x)
        got = _np(distances.pairwise_distances(x, "euclidean")).astype(np.float64)
        assert np.all(np.abs(got - expected) <= _documented_bound(x, expected))
        squared = _np(distances.pairwise_squared_euclidean(x)).astype(np.float64)
        np.testing.assert_allclose(squared, expected**2, rtol=1e-6, atol=1e-6 * expected.max())


def test_cosine_distance_of_near_identical_directions_keeps_its_digits():
    x = _near_pairs(1.0, 1.0)
    unit = x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    expected = 1.0 - unit @ unit.T  # 1.5e-4 for the partners
    got = _np(distances.pairwise_distances(x, "cosine")).astype(np.float64)
    partner = np.roll(np.arange(len(x)), len(x) // 2)
    pairs = (np.arange(len(x)), partner)
    # 1 - cos in float32 would be off by ~1e-7 absolute, 1e-3 relative.
    np.testing.assert_allclose(got[pairs], expected[pairs], rtol=1e-5)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert np.all(np.diag(got) == 0)


@pytest.mark.parametrize("distance", distances.DISTANCES)
def test_gradient_of_an_offset_batch_matches_finite_differences(distance):
    # A common offset and a scale far from 1: the centring and scaling carry no gradient,
    # which is right because the distances do not depend on them.
    x = 50.0 + 3.0 * np.random.default_rng(4).normal(size=(5, 3))
    weights = np.random.default_rng(5).uniform(size=(5, 5))

    def total(v):
        d = distances.pairwise_distances(v, distance)
        return keras.ops.sum(d * keras.ops.convert_to_tensor(weights, dtype=d.dtype))

    expected = finite_differences(lambda v: np.sum(_reference(v, distance) * weights), x)
    np.testing.assert_allclose(autodiff(total, x), expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_sixteen_bit_distances_are_computed_in_float32(dtype):
    x = _near_pairs(1.0, 1.0, pairs=4, dim=16)
    tensor = keras.ops.convert_to_tensor(x, dtype=dtype)
    got = distances.pairwise_distances(tensor, "euclidean")
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    rounded = _np(keras.ops.cast(tensor, "float32"))
    expected = _exact_distances(rounded)
    half_ulp = {"float16": 2.0**-11, "bfloat16": 2.0**-8}[dtype]
    got = _np(keras.ops.cast(got, "float32")).astype(np.float64)
    np.testing.assert_allclose(got, expected, rtol=half_ulp + 1e-5, atol=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="an unknown batch size")
def test_unknown_batch_size_while_tracing():
    import tensorflow as tf

    x = _near_pairs(1.0, 100.0, pairs=6, dim=8)

    @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32)])
    def traced(v):
        return distances.pairwise_distances(v, "euclidean")

    expected = _exact_distances(x)
    got = traced(x).numpy().astype(np.float64)
    assert np.all(np.abs(got - expected) <= _documented_bound(x, expected))


# ------------------------------------------------------------------ what accuracy costs


def _gram_form(x):
    """The plain Gram form the accurate distances replace: n_i + n_j - 2 x_i.x_j."""
    squared = keras.ops.sum(keras.ops.square(x), axis=-1)
    gram = keras.ops.einsum("id,jd->ij", x, x)
    return dtypes.positive_part(squared[:, None] + squared[None, :] - 2 * gram)


def _differences(x, budget=1 << 22):
    """sum_k (x_ik - x_jk)^2 over chunks of k with (B, B, chunk) pieces of <= `budget`."""
    size, dim = x.shape
    chunk = max(1, budget // (size * size))
    total = 0
    for start in range(0, dim, chunk):
        piece = x[:, start : start + chunk]
        total = total + keras.ops.sum(keras.ops.square(piece[:, None] - piece[None, :]), -1)
    return total


def _compiled_value_and_gradient(squared_distances):
    """sum(sqrt(d^2 + 1e-6)) and its gradient, compiled as a training step would be."""

    def loss(x):
        return keras.ops.sum(keras.ops.sqrt(squared_distances(x) + 1e-6))

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        step = jax.jit(jax.value_and_grad(loss))
        return lambda x: jax.block_until_ready(step(x))
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=True)
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                value = loss(x)
            return value, tape.gradient(value, x)

        return lambda x: [t.numpy() for t in step(x)]

    def eager_step(x):  # torch: eager, as Keras trains by default
        x = x.detach().requires_grad_(True)
        value = loss(x)
        value.backward()
        return value, x.grad

    return eager_step


@pytest.fixture
def one_torch_thread():
    """torch on one thread: with two, a busy machine makes eager timings swing tenfold."""
    if keras.backend.backend() != "torch":
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_timing_of_the_distance_forms(one_torch_thread):
    # Run with `-s` to see the table. Forward and backward of sum(d) in float32, compiled
    # on JAX (jax.jit) and TensorFlow (XLA), eager on torch; median of repeated runs.
    forms = {
        "gram": _gram_form,
        "kerasloss": distances.pairwise_squared_euclidean,
        "differences": _differences,
    }
    for size, dim in [(1024, 128), (256, 64)]:
        x = np.random.default_rng(0).normal(size=(size, dim)).astype(np.float32)
        x = keras.ops.convert_to_tensor(x / np.linalg.norm(x, axis=1, keepdims=True))
        medians, results = {}, {}
        for name, form in forms.items():
            step = _compiled_value_and_gradient(form)
            results[name] = [_np(t).astype(np.float64) for t in step(x)]  # compiles
            times = []
            for _ in range(5 if size > 500 else 20):
                start = time.perf_counter()
                step(x)
                times.append(time.perf_counter() - start)
            medians[name] = float(np.median(times))
        print(
            f"\n{keras.backend.backend():10s} B={size:4d} D={dim:3d}  "
            + "  ".join(f"{n} {1e3 * t:8.1f} ms" for n, t in medians.items())
            + f"  kerasloss/gram {medians['kerasloss'] / medians['gram']:.1f}x"
            + f"  differences/gram {medians['differences'] / medians['gram']:.1f}x"
        )
        # The times are for reading (a loaded machine reorders them); what is checked is
        # that the three forms compute the same value and gradient.
        value, grad = results["differences"]
        for name in ("gram", "kerasloss"):
            np.testing.assert_allclose(results[name][0], value, rtol=1e-5)
            np.testing.assert_allclose(results[name][1], grad, atol=1e-3 * np.abs(grad).max())


# ------------------------------------------------------------------ the precision policy


def test_to_working_computes_sixteen_bits_in_float32_and_names_the_dtype_to_return():
    for given, work in [("float16", "float32"), ("bfloat16", "float32"), ("float32", "float32")]:
        x, back = dtypes.to_working(keras.ops.ones((2,), dtype=given))
        assert (keras.backend.standardize_dtype(x.dtype), back) == (work, given)
    x, back = dtypes.to_working(np.array([1, 2], np.int32))
    assert keras.backend.standardize_dtype(x.dtype) == back == keras.config.floatx()
    with float64_context():
        x, back = dtypes.to_working(np.ones(2))
        assert keras.backend.standardize_dtype(x.dtype) == back == "float64"


def test_probability_epsilon_is_the_clip_of_the_given_dtype():
    # Keras' 1e-7 where 1 - 1e-7 < 1 is representable; else the gap below 1.
    assert dtypes.probability_epsilon("float32") == dtypes.probability_epsilon("float64") == 1e-7
    assert dtypes.probability_epsilon("float16") == 2.0**-11
    assert dtypes.probability_epsilon("bfloat16") == 2.0**-8
    for dtype in ("float16", "bfloat16", "float32"):
        eps = dtypes.probability_epsilon(dtype)
        below_one = keras.ops.convert_to_tensor(1.0 - eps, dtype=dtype)
        assert float(keras.ops.cast(below_one, "float32")) < 1.0


def _assert_prefix_sums(got, x):
    """Each prefix sum of the rows of x within ceil(log2 n) float64 roundings of exact."""
    rows, got = x.reshape(-1, x.shape[-1]), got.reshape(-1, x.shape[-1])
    exact = np.array([[math.fsum(row[: k + 1]) for k in range(len(row))] for row in rows])
    steps = max(1, math.ceil(math.log2(x.shape[-1])))
    assert np.all(np.abs(got - exact) <= steps * 2.0**-53 * np.cumsum(np.abs(rows), -1))


@pytest.mark.parametrize("shape", [(1,), (7,), (5, 33), (3, 64)])
def test_float64_cumsum_keeps_every_digit(shape):
    rng = np.random.default_rng(len(shape))
    x = rng.normal(size=shape) * 10.0 ** rng.integers(-3, 4, size=shape)
    with float64_context():
        got = dtypes.cumsum(keras.ops.convert_to_tensor(x), axis=-1)
        assert keras.backend.standardize_dtype(got.dtype) == "float64"
        along_first = dtypes.cumsum(keras.ops.convert_to_tensor(x.T), axis=0)
        got, along_first = _np(got), _np(along_first)
    _assert_prefix_sums(got, x)  # Keras' torch cumsum: off by 1e-8 relative
    _assert_prefix_sums(along_first.T, x)


def test_float64_mean_keeps_every_digit():
    x = 1.0 + np.random.default_rng(3).uniform(size=(4, 9)) * 1e-9  # float32 keeps 1.0 only
    with float64_context():
        got = dtypes.mean(keras.ops.convert_to_tensor(x), axis=-1)
        assert keras.backend.standardize_dtype(got.dtype) == "float64"
        np.testing.assert_allclose(_np(got), x.mean(-1), rtol=1e-15)


def _float64_inputs():
    rng = np.random.default_rng(30)
    onehot = np.eye(4)[[0, 1, 2, 3, 1, 0]]
    logits = rng.normal(scale=2.0, size=(6, 4))
    probs = ref.softmax(logits)
    probs[0] = [1e-9, 0.6, 0.4 - 1e-9, 0.0]  # below the clip of 1e-7: the clip must be float64
    table = rng.uniform(0.5, 3.0, size=(4, 4))
    tables = rng.uniform(0.0, 4.0, size=(6, 4, 4))
    multi = (rng.uniform(size=(6, 5)) < 0.5).astype(np.float64)
    multi[0] = [1.0, 0.0, 0.0, 0.0, 0.0]
    scores = rng.normal(size=(6, 5))
    binary_probs = ref.sigmoid(2.0 * scores)
    binary_probs[0, :2] = [1e-9, 1.0 - 1e-12]
    return {
        "onehot": onehot,
        "logits": logits,
        "probs": probs,
        "table": table,
        "packed": np.concatenate([onehot, tables.reshape(6, 16)], axis=1),
        "tables": tables,
        "multi": multi,
        "scores": scores,
        "binary_probs": binary_probs,
        "labels": np.array([0, 0, 1, 1, 2, 2]),
        "embeddings": rng.normal(size=(6, 3)),
        "triplet": rng.normal(size=(3, 6, 3)),
        "centers": rng.normal(size=(3, 3)),
    }


def _float64_cases(v):
    """Per registered loss function: (call, reference) pairs, all in float64."""
    a, p, n = v["triplet"]
    t = v["onehot"]
    return {
        "cost_sensitive_crossentropy": [
            (
                lambda: kerasloss.cost_sensitive_crossentropy(
                    t, v["logits"], cost_matrix=v["table"], from_logits=True
                ),
                ref.cost_sensitive(t, v["logits"], v["table"], True),
            ),
            (
                lambda: kerasloss.cost_sensitive_crossentropy(
                    t, v["probs"], cost_matrix=v["table"]
                ),
                ref.cost_sensitive(t, v["probs"], v["table"], False),
            ),
            (
                lambda: kerasloss.cost_sensitive_crossentropy(
                    v["packed"], v["logits"], from_logits=True
                ),
                ref.cost_sensitive(t, v["logits"], v["tables"], True),
            ),
        ],
        "label_smoothing_crossentropy": [
            (
                lambda: kerasloss.label_smoothing_crossentropy(
                    t, v["logits"], epsilon=0.2, from_logits=True
                ),
                ref.label_smoothing(t, v["logits"], 0.2, True),
            ),
            (
                lambda: kerasloss.label_smoothing_crossentropy(t, v["probs"], epsilon=0.2),
                ref.label_smoothing(t, v["probs"], 0.2, False),
            ),
        ],
        "binary_focal_loss": [
            (
                lambda: kerasloss.binary_focal_loss(v["multi"], v["scores"], from_logits=True),
                ref.binary_focal(v["multi"], v["scores"], 2.0, 0.25, True),
            ),
            (
                lambda: kerasloss.binary_focal_loss(
                    v["multi"], v["binary_probs"], gamma=0.5, alpha=None
                ),
                ref.binary_focal(v["multi"], v["binary_probs"], 0.5, None, False),
            ),
        ],
        "bpmll_loss": [
            (
                lambda: kerasloss.bpmll_loss(v["multi"], v["scores"]),
                ref.bpmll(v["multi"], v["scores"]),
            )
        ],
        "center_loss": [
            (
                lambda: kerasloss.center_loss(v["embeddings"], v["labels"], v["centers"]),
                ref.center_loss(v["embeddings"], v["labels"], v["centers"]),
            )
        ],
        "triplet_margin_loss": [
            (
                lambda d=d: kerasloss.triplet_margin_loss(a, p, n, margin=0.3, distance=d),
                ref.triplet_margin(a, p, n, 0.3, d),
            )
            for d in distances.DISTANCES
        ],
        "triplet_loss": [
            (
                lambda d=d, m=m: kerasloss.triplet_loss(
                    v["labels"], v["embeddings"], margin=0.3, distance=d, mining=m
                ),
                ref.mined_triplet(v["labels"], v["embeddings"], 0.3, d, m),
            )
            # Every mining and every distance once; test_triplet.py has all the pairs.
            for d, m in zip(distances.DISTANCES, mining.MINING, strict=True)
        ],
        # focal losses (losses/focal.py)
        "categorical_focal_loss": [
            (
                lambda: kerasloss.categorical_focal_loss(
                    t,
                    v["logits"],
                    alpha=[0.5, 1.0, 2.0, 0.3],
                    label_smoothing=0.1,
                    from_logits=True,
                ),
                rf.categorical_focal(t, v["logits"], 2.0, [0.5, 1.0, 2.0, 0.3], 0.1, True),
            ),
            (
                lambda: kerasloss.categorical_focal_loss(t, v["probs"], gamma=0.5),
                rf.categorical_focal(t, v["probs"], 0.5, None, 0.0, False),
            ),
        ],
        "sparse_categorical_focal_loss": [
            (
                lambda: kerasloss.sparse_categorical_focal_loss(
                    np.argmax(t, -1), v["logits"], gamma=1.5, from_logits=True
                ),
                rf.categorical_focal(t, v["logits"], 1.5, None, 0.0, True),
            ),
        ],
    }


def _registered(kind):
    objects = keras.saving.get_custom_objects()
    return {
        name.split(">")[1]: obj
        for name, obj in objects.items()
        if name.startswith("kerasloss>") and kind(obj)
    }


def test_every_registered_loss_function_keeps_float64():
    v = _float64_inputs()
    cases = _float64_cases(v)
    # Loss functions, not the metrics' per-example functions (float32 by design).
    losses = {
        name
        for name, fn in _registered(inspect.isfunction).items()
        if not fn.__module__.startswith("kerasloss.metrics")
    }
    # Every registered loss keeps float64 in the contract (tests/_contract.py, rtol 1e-10
    # against its reference); these cases add inputs that need every float64 digit.
    assert set(cases) <= losses
    for name, calls in cases.items():
        for call, expected in calls:
            with float64_context():
                got = call()
                assert keras.backend.standardize_dtype(got.dtype) == "float64", name
                got = _np(got)
            if name == "triplet_loss":  # per-anchor values whose mean is the loss
                got = got.sum() / got.shape[0]
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300, err_msg=name)


def test_every_registered_loss_class_keeps_float64():
    v = _float64_inputs()
    t, logits = v["onehot"], v["logits"]
    focal = kerasloss.BinaryFocalLoss(from_logits=True)
    cases = {
        "BPMLLLoss": (
            kerasloss.BPMLLLoss(dtype="float64", reduction=None),
            (v["multi"], v["scores"]),
            ref.bpmll(v["multi"], v["scores"]),
        ),
        "BinaryFocalLoss": (
            kerasloss.BinaryFocalLoss(from_logits=True, dtype="float64", reduction=None),
            (v["multi"], v["scores"]),
            ref.binary_focal(v["multi"], v["scores"], 2.0, 0.25, True),
        ),
        "CombinedLoss": (
            kerasloss.CombinedLoss([focal, focal], [0.3, 0.4], dtype="float64", reduction=None),
            (v["multi"], v["scores"]),
            0.7 * ref.binary_focal(v["multi"], v["scores"], 2.0, 0.25, True),
        ),
        "CostSensitiveCrossentropy": (
            kerasloss.CostSensitiveCrossentropy(
                cost_matrix=v["table"], from_logits=True, dtype="float64", reduction=None
            ),
            (t, logits),
            ref.cost_sensitive(t, logits, v["table"], True),
        ),
        "LabelSmoothingCrossentropy": (
            kerasloss.LabelSmoothingCrossentropy(dtype="float64", reduction=None),
            (t, v["probs"]),
            ref.label_smoothing(t, v["probs"], 0.1, False),
        ),
        "TripletLoss": (
            kerasloss.TripletLoss(mining="batch_all", dtype="float64", reduction="sum"),
            (v["labels"], v["embeddings"]),
            6 * ref.mined_triplet(v["labels"], v["embeddings"], 1.0, "euclidean", "batch_all"),
        ),
        # focal losses (losses/focal.py)
        "CategoricalFocalLoss": (
            kerasloss.CategoricalFocalLoss(
                gamma=0.5, label_smoothing=0.2, dtype="float64", reduction=None
            ),
            (t, v["probs"]),
            rf.categorical_focal(t, v["probs"], 0.5, None, 0.2, False),
        ),
        "SparseCategoricalFocalLoss": (
            kerasloss.SparseCategoricalFocalLoss(
                alpha=0.3, from_logits=True, ignore_class=1, dtype="float64", reduction="sum"
            ),
            (np.argmax(t, -1), logits),
            rf.sparse_categorical_focal(np.argmax(t, -1), logits, 2.0, 0.3, 0.0, True, 1).sum(),
        ),
    }
    losses = _registered(lambda obj: isinstance(obj, type) and issubclass(obj, keras.losses.Loss))
    assert set(cases) <= set(losses)  # the contract checks float64 for every one
    for name, (loss, inputs, expected) in cases.items():
        with float64_context():
            got = loss(*inputs)
            assert keras.backend.standardize_dtype(got.dtype) == "float64", name
            got = _np(got)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300, err_msg=name)
