"""Trains one multi-head model on one device and data-parallel, and prints what differs.

Run by tests/test_distributed.py in fresh processes (the device setup must not leak into
the test session), one mode per process:

    python tests/_distributed_check.py single OUT.npz        # one device, global batches
    python tests/_distributed_check.py mirrored OUT.npz      # TensorFlow, 2 logical CPUs
    python tests/_distributed_check.py ddp OUT.npz RANK PORT # torch DDP (gloo), 2 ranks
    python tests/_distributed_check.py dataparallel OUT.npz  # JAX, 8 simulated devices
    python tests/_distributed_check.py process OUT.npz ID PORT  # JAX, 2 processes x 4 devices

Every mode trains the same model from the same weights on the same 3 global batches of
32, and saves the per-step loss of every head (averaged over replicas) and every weight.
One head per batch-coupled loss, all on one shared trunk; two CenterLoss layers (centres
learned by gradient, and by the alpha rule) sit on the trunk. The head "local" mines per
replica (`per_replica=True`); its one-device twin computes the loss on each replica's
slice of the batch and averages.
"""

from __future__ import annotations

import os
import sys

MODE = sys.argv[1]
OUT = sys.argv[2]
REPLICAS = 2
if MODE == "mirrored":
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
if MODE == "dataparallel":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    REPLICAS = 8
if MODE == "process":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    REPLICAS = 8

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasloss  # noqa: E402
from kerasloss.layers import CenterLoss  # noqa: E402

GLOBAL_BATCH, STEPS, FEATURES, CLASSES, EMBED = 32, 3, 6, 4, 4
LR = 0.05


def losses(groups: int) -> dict:
    """The head losses; with `groups` > 1, "local" is the loss averaged over slices."""
    local = kerasloss.losses.TripletLoss(margin=0.5, per_replica=True)
    if groups > 1:
        local = Sliced(kerasloss.losses.triplet_loss, groups, margin=0.5)
    return {
        "triplet_hard": kerasloss.losses.TripletLoss(margin=0.5),
        "triplet_semi": kerasloss.losses.TripletLoss(margin=0.5, mining="semi_hard"),
        "triplet_all": kerasloss.losses.TripletLoss(margin=0.5, mining="batch_all"),
        "contrastive": kerasloss.losses.ContrastiveLoss(),
        "multi_similarity": kerasloss.losses.MultiSimilarityLoss(),
        "lifted": kerasloss.losses.LiftedStructureLoss(),
        "nt_xent": kerasloss.losses.NTXentLoss(temperature=0.5),
        "supcon": kerasloss.losses.SupConLoss(temperature=0.5),
        "local": local,
    }


class Sliced(keras.losses.Loss):
    """A batch loss computed on each of `groups` consecutive slices (one device's twin)."""

    def __init__(self, fn, groups, **hyper):
        super().__init__(name="sliced")
        self.fn, self.groups, self.hyper = fn, groups, hyper

    def call(self, y_true, y_pred):
        size = y_pred.shape[0] // self.groups
        parts = [slice(i * size, (i + 1) * size) for i in range(self.groups)]
        return keras.ops.concatenate([self.fn(y_true[p], y_pred[p], **self.hyper) for p in parts])


HEADS = list(losses(1))


def data():
    rng = np.random.default_rng(0)
    n = GLOBAL_BATCH * STEPS
    y = rng.integers(0, CLASSES, size=n).astype("int32")
    x = (rng.normal(size=(n, FEATURES)) + np.eye(CLASSES, FEATURES)[y]).astype("float32")
    return x, y


def build(kind):
    """ "heads": one head per batch-coupled loss; "center_grad" / "center_rule": a
    classifier with a CenterLoss layer (centres by gradient / by the alpha rule)."""
    x_in = keras.Input((FEATURES,), name="x")
    y_in = keras.Input((), dtype="int32", name="labels")
    trunk = keras.layers.Dense(8, activation="tanh", name="trunk")(x_in)
    if kind == "heads":
        outputs = {h: keras.layers.Dense(EMBED, name=h)(trunk) for h in HEADS}
    elif kind == "combined":  # a gathering loss and an add_loss layer in one model
        trunk = CenterLoss(CLASSES, loss_weight=0.1, name="center")([trunk, y_in])
        outputs = {"logits": keras.layers.Dense(EMBED, name="logits")(trunk)}
    else:
        alpha = 0.5 if kind == "center_rule" else None
        trunk = CenterLoss(CLASSES, loss_weight=0.1, alpha=alpha, name="center")([trunk, y_in])
        outputs = {"logits": keras.layers.Dense(CLASSES, name="logits")(trunk)}
    model = keras.Model({"x": x_in, "labels": y_in}, outputs)
    rng = np.random.default_rng(1)
    for v in model.weights:
        if "loss_weight" not in v.path:
            v.assign(rng.normal(0, 0.5, v.shape).astype("float32"))
    return model


def model_losses(kind, groups):
    if kind == "heads":
        return losses(groups)
    if kind == "combined":
        return {"logits": kerasloss.losses.TripletLoss(margin=0.5)}
    return {"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}


def weights(model) -> dict:
    return {
        f"w:{v.path}": keras.ops.convert_to_numpy(v)
        for v in model.weights
        if "loss_weight" not in v.path
    }


def outputs_of(kind):
    return HEADS if kind == "heads" else ["logits"]


class StepLosses(keras.callbacks.Callback):
    """Each step's output losses and total loss, from the running means `fit` logs."""

    def __init__(self, names):
        super().__init__()
        self.names, self.rows = names, []

    def on_train_batch_end(self, batch, logs=None):
        names = [f"{n}_loss" for n in self.names] if len(self.names) > 1 else []
        self.rows.append([logs[n] for n in names] + [logs["loss"]])


def step_losses(rows):
    """Per-step values from running means: m_k * k - m_(k-1) * (k - 1)."""
    running = np.asarray(rows, dtype="float64")
    totals = running * np.arange(1, len(running) + 1)[:, None]
    return np.diff(np.concatenate([np.zeros_like(totals[:1]), totals]), axis=0)


def fit(model, kind, x, y, groups, batch_size=GLOBAL_BATCH):
    model.compile(optimizer=keras.optimizers.SGD(LR), loss=model_losses(kind, groups))
    record = StepLosses(outputs_of(kind))
    model.fit(
        {"x": x, "labels": y},
        {h: y for h in outputs_of(kind)},
        batch_size=batch_size,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[record],
    )
    return {"losses": step_losses(record.rows), **weights(model)}


def each_kind(run):
    result = {}
    for kind in KINDS:
        for key, value in (run(kind) or {}).items():
            result[f"{kind}/{key}"] = value
    return result


def run_single():
    x, y = data()
    groups = int(sys.argv[3]) if len(sys.argv) > 3 else REPLICAS
    return each_kind(lambda kind: fit(build(kind), kind, x, y, groups))


def run_mirrored():
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS
    )
    strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(REPLICAS)])
    x, y = data()

    def run(kind):
        with strategy.scope():
            model = build(kind)
        result = fit(model, kind, x, y, 1)
        if kind != "heads":  # each replica's copy of the centres
            centres = model.get_layer("center").centers
            copies = [c.numpy() for c in strategy.experimental_local_results(centres)]
            result["spread"] = np.float64(max(np.abs(c - copies[0]).max() for c in copies))
        return result

    return each_kind(run)


def torch_loop(model, kind, x, y, groups, rank=0, replicas=1):
    """The custom training loop Keras documents for torch: DDP when `replicas` > 1."""
    import torch
    import torch.distributed as dist

    loss_fns = model_losses(kind, groups)
    names = outputs_of(kind)
    step_model = torch.nn.parallel.DistributedDataParallel(model) if replicas > 1 else model
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    local = GLOBAL_BATCH // replicas
    rows = []
    for step in range(STEPS):
        start = step * GLOBAL_BATCH + rank * local
        xb, yb = x[start : start + local], y[start : start + local]
        outputs = step_model({"x": torch.from_numpy(xb), "labels": torch.from_numpy(yb)})
        parts = [loss_fns[n](yb, outputs[n]) for n in names]
        total = sum(parts) + sum(model.losses)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        reported = torch.stack([*parts, total]).detach() if len(names) > 1 else total.detach()[None]
        if replicas > 1:
            dist.all_reduce(reported)
        rows.append((reported / replicas).numpy())
    result = {"losses": np.asarray(rows, "float64"), **weights(model)}
    if kind != "heads" and replicas > 1:
        centres = model.get_layer("center").centers.value.detach()
        high, low = centres.clone(), centres.clone()
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        result["spread"] = np.float64((high - low).abs().max().item())
    return result


def run_torch_single():
    x, y = data()
    return each_kind(lambda kind: torch_loop(build(kind), kind, x, y, REPLICAS))


def run_ddp():
    import torch.distributed as dist

    rank, port = int(sys.argv[3]), sys.argv[4]
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=REPLICAS
    )
    x, y = data()
    result = each_kind(lambda kind: torch_loop(build(kind), kind, x, y, 1, rank, REPLICAS))
    dist.destroy_process_group()
    return result if rank == 0 else None


def run_dataparallel():
    import jax

    distribution = keras.distribution.DataParallel(devices=jax.devices())
    x, y = data()

    def run(kind):
        with distribution.scope():
            return fit(build(kind), kind, x, y, 1)

    return each_kind(run)


def run_process():
    import jax

    process, port = int(sys.argv[3]), sys.argv[4]
    keras.distribution.initialize(f"localhost:{port}", num_processes=2, process_id=process)
    distribution = keras.distribution.DataParallel(devices=jax.devices(), auto_shard_dataset=False)
    keras.distribution.set_distribution(distribution)
    x, y = data()
    half = GLOBAL_BATCH // 2
    # Each process feeds its half of every global batch.
    rows = np.concatenate(
        [
            np.arange(s * GLOBAL_BATCH, (s + 1) * GLOBAL_BATCH)[process * half :][:half]
            for s in range(STEPS)
        ]
    )
    result = each_kind(lambda kind: fit(build(kind), kind, x[rows], y[rows], 1, half))
    return result if process == 0 else None


RUNNERS = {
    "single": run_single,
    "torch_single": run_torch_single,
    "mirrored": run_mirrored,
    "ddp": run_ddp,
    "dataparallel": run_dataparallel,
    "process": run_process,
}
KINDS = os.environ.get("KERASLOSS_DIST_KINDS", "heads,center_grad,center_rule,combined").split(",")

if __name__ == "__main__":
    result = RUNNERS[MODE]()
    if result is not None:
        np.savez(OUT, heads=np.array(HEADS), **result)
    print("done")
