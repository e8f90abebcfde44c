"""Triplet loss and CenterLoss under torch DDP (gloo, 2 processes): the numbers of one device.

Keras on torch trains data-parallel in a custom loop around
`torch.nn.parallel.DistributedDataParallel`. Each rank runs the loss on its own slice
of the global batch; kerasloss gathers the ranks' embeddings and labels (with the
gradient sent back to the rank that owns them), so every rank mines from the global
batch, and CenterLoss's alpha rule sums its statistics over the ranks, so the centres
stay the same on every rank. This script trains one model on one device, then the same
model from the same weights in two processes on localhost, and prints the losses
(averaged over the ranks) and how far apart the weights end.

Run (it starts its two worker processes itself):

    KERAS_BACKEND=torch python examples/distributed_torch.py
"""

from __future__ import annotations

import os
import socket

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from kerasloss.layers import CenterLoss
from kerasloss.losses import TripletLoss

GLOBAL_BATCH, STEPS, CLASSES, WORLD = 32, 4, 4, 2


def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, CLASSES, size=GLOBAL_BATCH * STEPS)
    x = rng.normal(size=(len(y), 8)) + np.eye(CLASSES, 8)[y]
    return x.astype("float32"), y.astype("int32")


def model():
    x_in, y_in = keras.Input((8,)), keras.Input((), dtype="int32")
    hidden = keras.layers.Dense(16, activation="tanh")(x_in)
    hidden = CenterLoss(CLASSES, loss_weight=0.1, alpha=0.5, name="center")([hidden, y_in])
    net = keras.Model([x_in, y_in], keras.layers.Dense(4)(hidden))
    rng = np.random.default_rng(1)  # the same initial weights on every rank
    for v in net.trainable_weights:
        v.assign(rng.normal(0, 0.5, v.shape).astype("float32"))
    return net


def train(rank=0, world=1):
    """The custom loop: each rank takes its slice of every global batch."""
    net = model()
    step_net = torch.nn.parallel.DistributedDataParallel(net) if world > 1 else net
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    loss_fn = TripletLoss(margin=0.5)
    x, y = data()
    local = GLOBAL_BATCH // world
    losses = []
    for step in range(STEPS):
        rows = slice(step * GLOBAL_BATCH + rank * local, step * GLOBAL_BATCH + (rank + 1) * local)
        xb, yb = torch.from_numpy(x[rows]), torch.from_numpy(y[rows])
        loss = loss_fn(yb, step_net([xb, yb])) + sum(net.losses)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        reported = loss.detach().clone()
        if world > 1:  # what the ranks report, averaged
            dist.all_reduce(reported)
        losses.append(reported.item() / world)
    return losses, [keras.ops.convert_to_numpy(w) for w in net.weights]


def worker(rank, port, queue):
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD
    )
    result = train(rank, WORLD)
    if rank == 0:
        queue.put(result)
    dist.destroy_process_group()


if __name__ == "__main__":
    one_losses, one_weights = train()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    queue = mp.get_context("spawn").SimpleQueue()
    mp.spawn(worker, args=(port, queue), nprocs=WORLD)
    ddp_losses, ddp_weights = queue.get()
    gap = max(np.abs(a - b).max() for a, b in zip(one_weights, ddp_weights, strict=True))
    print("one device: losses", np.round(one_losses, 5))
    print("2 ranks:    losses", np.round(ddp_losses, 5))
    print(f"weights and centres after {STEPS} steps: {gap:.1e} apart")
