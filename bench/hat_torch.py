"""PyTorch side of the HAT benchmark (bench/hat.ts runs it).

Task 1 of Permuted Fashion-MNIST on its first WARMUP images (it only leaves a
cumulative mask), then one timed training epoch of task 2 on all 60,000
images, with the algorithm of src/continual/algorithms/hat.ts at its defaults
(docs/algorithms/hat.md; s_max 400, c 0.75, embeddings clamped to ±6,
compensation on, exact protection): per task a unit embedding e_l ~ N(0, 1)
for each of the two hidden layers of the MLP 784-256-256 and a new 10-class
head; per batch b of the B in the epoch (b from 1)
  s = 1/s_max + (s_max - 1/s_max)(b - 1)/(B - 1),   a_l = sigmoid(s e_l),
the forward relu(linear) * a_l per layer, the loss
  CE + c R,   R = sum a (1 - a<) / sum (1 - a<)   (a< the cumulative mask),
backward, the weights' gradients multiplied by 1 - min(a<_l,i, a<_l-1,j)
(first layer and biases: 1 - a<_l,i), the embeddings' gradients by
  s_max (cosh(clamp(s e, ±50)) + 1) / (s (cosh(e) + 1)),
one SGD step (lr 0.05, momentum 0.9) over weights, heads and the task's
embeddings, the embeddings clamped to ±6, and the weights and biases the
binary cumulative mask 1[a< > 0.5] marks as used put back to their values
at the task's start (torch.where with a snapshot). At the task's end
a< = max(a<, sigmoid(s_max e)).
Usage: hat_torch.py DATA_DIR THREADS [WARMUP]; prints one JSON line.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

from fashion_mnist_torch import scale_gradients, two_task_data, two_task_mlp

S_MAX = 400.0
C = 0.75
CLAMP = 6.0
COSH_CLAMP = 50.0
BATCH = 64


def annealed_scale(index, count):
    """s for batch `index` (from 0) of the epoch's `count`: 1/s_max first, s_max last (and for a single batch)."""
    return S_MAX if count == 1 else 1 / S_MAX + (S_MAX - 1 / S_MAX) * index / (count - 1)


def new_embeddings(layers):
    """A task's embeddings e ~ N(0, 1), one per unit of each layer."""
    return [torch.nn.Parameter(torch.randn(layer.out_features)) for layer in layers]


def gated_features(layers, x, masks):
    """The MLP with each layer's output, after its ReLU, multiplied by its mask."""
    h = x
    for layer, a in zip(layers, masks):
        h = torch.relu(layer(h)) * a
    return h


@torch.no_grad()
def free_capacity(layers, cumulative):
    """1 - a< per layer and its sum over all units (R's denominator); a< is None before task 1 ends."""
    free = [torch.ones(layer.out_features) for layer in layers] if cumulative is None else [1 - a for a in cumulative]
    return free, float(sum(f.sum() for f in free))


def regulariser(masks, free, free_total):
    """R = sum a (1 - a<) / sum (1 - a<)."""
    return sum((a * f).sum() for a, f in zip(masks, free)) / free_total


def pairwise(cumulative, i, combine):
    """combine(out_i, in_j) of layer i's per-unit values, shaped like its weight (the first layer: out_i, a column)."""
    a = cumulative[i].unsqueeze(1)
    return a if i == 0 else combine(a, cumulative[i - 1].unsqueeze(0))


@torch.no_grad()
def conditioning(layers, cumulative):
    """The gradient factors of the weights and biases in order: 1 - min(a<_i, a<_j) (first layer and biases: 1 - a<_i).
    None before task 1 ends: nothing to condition."""
    if cumulative is None:
        return []
    factors = []
    for i in range(len(layers)):
        factors += [1 - pairwise(cumulative, i, torch.minimum), 1 - cumulative[i]]
    return factors


@torch.no_grad()
def frozen_weights(layers, cumulative):
    """(parameter, where it is frozen, its value now) for the weights and biases the binary
    cumulative mask 1[a< > 0.5] uses; none before task 1 ends."""
    if cumulative is None:
        return []
    used = [a > 0.5 for a in cumulative]
    frozen = []
    for i, layer in enumerate(layers):
        w = pairwise(used, i, torch.logical_and).expand_as(layer.weight).contiguous()
        frozen += [(layer.weight, w, layer.weight.detach().clone()), (layer.bias, used[i], layer.bias.detach().clone())]
    return frozen


@torch.no_grad()
def compensate(embeddings, s):
    """The embeddings' gradients times s_max (cosh(clamp(s e, ±50)) + 1) / (s (cosh(e) + 1))."""
    for e in embeddings:
        num = torch.cosh(torch.clamp(s * e, -COSH_CLAMP, COSH_CLAMP)) + 1
        den = torch.cosh(e) + 1
        e.grad.mul_(S_MAX / s * num / den)


@torch.no_grad()
def clamp_embeddings(embeddings):
    for e in embeddings:
        e.clamp_(-CLAMP, CLAMP)


@torch.no_grad()
def restore(frozen):
    for w, used, snapshot in frozen:
        w.copy_(torch.where(used, snapshot, w))


@torch.no_grad()
def accumulate(cumulative, embeddings):
    """a<= = max(a<, sigmoid(s_max e)) at a task's end."""
    a = [torch.sigmoid(S_MAX * e) for e in embeddings]
    return a if cumulative is None else [torch.maximum(c, n) for c, n in zip(cumulative, a)]


def main():
    root = sys.argv[1]
    torch.set_num_threads(int(sys.argv[2]))
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 6400
    raw, ytr, perms, layers, weights = two_task_mlp(root)
    heads = []
    # a<: the cumulative mask of each layer (None before task 1 ends).
    cumulative = None
    train_seconds = 0.0
    for task, limit in ((1, warmup), (2, len(ytr))):
        xtr, y, head = two_task_data(raw, ytr, perms, task, limit)
        heads.append(head)
        embeddings = new_embeddings(layers)
        params = weights + [p for h in heads for p in h.parameters()] + embeddings
        opt = torch.optim.SGD(params, lr=0.05, momentum=0.9)
        # Fixed for the task: 1 - a< and its sum (R), the gradient factors, and what is frozen.
        free, free_total = free_capacity(layers, cumulative)
        factors = conditioning(layers, cumulative)
        frozen = frozen_weights(layers, cumulative)
        order = torch.randperm(limit)
        batches = math.ceil(limit / BATCH)
        start = time.perf_counter()
        for b in range(batches):
            idx = order[b * BATCH:(b + 1) * BATCH]
            s = annealed_scale(b, batches)
            masks = [torch.sigmoid(s * e) for e in embeddings]
            loss = F.cross_entropy(head(gated_features(layers, xtr[idx], masks)), y[idx]) + C * regulariser(masks, free, free_total)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            scale_gradients(weights, factors)
            compensate(embeddings, s)
            opt.step()
            clamp_embeddings(embeddings)
            restore(frozen)
        if task == 2:
            train_seconds = time.perf_counter() - start
        cumulative = accumulate(cumulative, embeddings)
    used = sum(int((a > 0.5).sum()) for a in cumulative) / sum(a.numel() for a in cumulative)
    print(json.dumps({"trainSeconds": train_seconds, "finalLoss": loss.item(), "capacityUsed": used}))


if __name__ == "__main__":
    main()
