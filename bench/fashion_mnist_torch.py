"""Fashion-MNIST for the PyTorch sides of the benchmarks: the gzipped IDX files
of Debian's dataset-fashion-mnist read with the standard library and numpy,
and normalised as Perennial's benchmark layer normalises them."""
import gzip

import numpy as np
import torch

MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def read_split(root, split):
    """Raw images as a uint8 tensor [N, 784] and int64 labels; split is 'train' or 't10k'."""
    images = torch.from_numpy(read_idx(f"{root}/{split}-images-idx3-ubyte.gz").copy()).reshape(-1, 784)
    labels = torch.from_numpy(read_idx(f"{root}/{split}-labels-idx1-ubyte.gz").astype(np.int64))
    return images, labels


def normalize(raw):
    return ((raw.float() / 255) - MEAN) / STD


def two_task_mlp(root):
    """The start of the two-task benchmarks (bench/two_task.ts): the training
    images and labels, the identity and one seeded permutation, and the MLP
    784-256-256 built after torch.manual_seed(1), with its weights and biases
    in order."""
    raw, labels = read_split(root, "train")
    rng = np.random.default_rng(1)
    perms = [torch.arange(784), torch.from_numpy(rng.permutation(784))]
    torch.manual_seed(1)
    layers = [torch.nn.Linear(784, 256), torch.nn.Linear(256, 256)]
    weights = [p for layer in layers for p in (layer.weight, layer.bias)]
    return raw, labels, perms, layers, weights


def two_task_data(raw, labels, perms, task, limit):
    """Task `task` of the two-task benchmarks: its first `limit` images,
    permuted and normalised, their labels, and a fresh 10-class head."""
    return normalize(raw[:limit, perms[task - 1]]), labels[:limit], torch.nn.Linear(256, 10)


@torch.no_grad()
def scale_gradients(params, factors):
    """Each parameter's gradient times its factor, in place (masks, HAT's conditioning)."""
    for p, f in zip(params, factors):
        p.grad.mul_(f)
