"""PyTorch side of the WSN benchmark (bench/wsn.ts runs it).

Task 1 of Permuted Fashion-MNIST on its first WARMUP images (it only leaves a
stored mask), then one timed training epoch of task 2 on all 60,000 images,
with the algorithm of src/continual/algorithms/wsn.ts (docs/algorithms/wsn.md):
a score tensor per weight and bias of the MLP 784-256-256 (kaiming-uniform),
per tensor the top-c gate (the k-th largest score from an unsorted topk,
every score at or above it kept, ties at the threshold beyond k dropped from
the highest flat index), forward on
w * ((s - s.detach()) + hard) (the bool mask added in place, as ours does),
a new 10-class head per task, cross-entropy, backward, the weights' gradients
multiplied by 1 - M (M the union of the stored masks), one SGD step (lr 0.05,
momentum 0.9) over weights, heads and scores; after each task the mask is
stored and M updated.
Usage: wsn_torch.py DATA_DIR THREADS [WARMUP] [C]; prints one JSON line.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

from fashion_mnist_torch import scale_gradients, two_task_data, two_task_mlp


def gate(s, c):
    flat = s.detach().reshape(-1)
    n = flat.numel()
    k = min(n, max(1, math.floor(c * n + 0.5)))
    if k <= n - k + 1:
        threshold = flat.topk(k, sorted=False).values.min()
    else:
        threshold = flat.topk(n - k + 1, largest=False, sorted=False).values.max()
    keep = flat >= threshold
    excess = int(keep.sum()) - k
    if excess > 0:
        ties = (flat == threshold).nonzero().reshape(-1)
        keep[ties[ties.numel() - excess:]] = False
    return keep.reshape(s.shape)


def new_scores(layers):
    """A score tensor per weight and bias, initialised as PyTorch initialises the
    layer's own (weights kaiming-uniform a = sqrt(5), biases U(+-1/sqrt(fan_in)))."""
    scores = []
    for layer in layers:
        sw = torch.nn.Parameter(torch.empty_like(layer.weight))
        torch.nn.init.kaiming_uniform_(sw, a=math.sqrt(5))
        bound = 1 / math.sqrt(layer.weight.shape[1])
        sb = torch.nn.Parameter(torch.empty_like(layer.bias).uniform_(-bound, bound))
        scores += [sw, sb]
    return scores


def straight_through(s, c):
    """The gate, exactly 0/1, with the identity as its gradient (the bool mask added in place)."""
    return (s - s.detach()).add_(gate(s, c))


def masked_features(layers, x, masks):
    """The MLP on its weights and biases times their masks (in order: weight, bias per layer)."""
    h = x
    for i, layer in enumerate(layers):
        h = torch.relu(F.linear(h, layer.weight * masks[2 * i], layer.bias * masks[2 * i + 1]))
    return h


@torch.no_grad()
def store_mask(scores, c, cumulative):
    """At a task's end: its mask, the union M with it, and 1 - M as floats (cumulative is None before task 1 ends)."""
    task_mask = [gate(s, c) for s in scores]
    cumulative = task_mask if cumulative is None else [a | b for a, b in zip(cumulative, task_mask)]
    return task_mask, cumulative, [(~m).float() for m in cumulative]


def main():
    root = sys.argv[1]
    torch.set_num_threads(int(sys.argv[2]))
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 6400
    c = float(sys.argv[4]) if len(sys.argv) > 4 else 0.1
    raw, ytr, perms, layers, weights = two_task_mlp(root)
    scores = new_scores(layers)
    heads = []
    cumulative = None
    free = []
    train_seconds = 0.0
    for task, limit in ((1, warmup), (2, len(ytr))):
        xtr, y, head = two_task_data(raw, ytr, perms, task, limit)
        heads.append(head)
        params = weights + [p for h in heads for p in h.parameters()] + scores
        opt = torch.optim.SGD(params, lr=0.05, momentum=0.9)
        order = torch.randperm(limit)
        start = time.perf_counter()
        for i in range(0, limit, 64):
            idx = order[i:i + 64]
            masks = [straight_through(s, c) for s in scores]
            loss = F.cross_entropy(head(masked_features(layers, xtr[idx], masks)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            # Times 1 - M: the weights earlier tasks use do not move.
            scale_gradients(weights, free)
            opt.step()
        if task == 2:
            train_seconds = time.perf_counter() - start
        _, cumulative, free = store_mask(scores, c, cumulative)
    used = sum(int(m.sum()) for m in cumulative) / sum(m.numel() for m in cumulative)
    print(json.dumps({"trainSeconds": train_seconds, "finalLoss": loss.item(), "capacityUsed": used}))


if __name__ == "__main__":
    main()
