"""PyTorch side of the CBP benchmark (bench/cbp.ts runs it).

One training epoch of one Permuted Fashion-MNIST task (60,000 images), as the
online plasticity experiment trains: an MLP 784-W-W-W with one shared 10-class
head, batch 16, plain SGD (lr 0.15), shuffled; with CBP after every step
(the algorithm of src/continual/algorithms/cbp.ts, docs/algorithms/cbp.md,
written the natural PyTorch way: ages as tensors, top-k selection), or plain
backprop. Usage: cbp_torch.py DATA_DIR THREADS WIDTH (cbp|backprop) [RHO];
prints one JSON line with the epoch's wall and CPU time.
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from fashion_mnist_torch import normalize, read_split

MATURITY, ETA, LR, BATCH = 100, 0.99, 0.15, 16


class CBP:
    """Contribution utility, bias-corrected ranking, fractional replacement count, bias compensation.
    The last layer's outgoing weights are the columns of every head in `heads` (a list that may grow)."""

    def __init__(self, layers, heads, rho):
        self.layers, self.nexts, self.rho = layers, [[layer] for layer in layers[1:]] + [heads], rho
        self.util = [torch.zeros(l.out_features) for l in layers]
        self.mean = [torch.zeros(l.out_features) for l in layers]
        self.age = [torch.zeros(l.out_features) for l in layers]
        self.acc = [0.0] * len(layers)

    @torch.no_grad()
    def step(self, acts):
        for i, h in enumerate(acts):
            self.age[i] += 1
            self.mean[i].lerp_(h.mean(0), 1 - ETA)
            self.util[i].lerp_(h.abs().mean(0) * sum(n.weight.abs().sum(0) for n in self.nexts[i]), 1 - ETA)
        for i, (layer, nexts) in enumerate(zip(self.layers, self.nexts)):
            eligible = torch.where(self.age[i] > MATURITY)[0]
            if eligible.numel() == 0:
                continue
            self.acc[i] += self.rho * eligible.numel()
            count = int(self.acc[i])
            if count == 0:
                continue
            self.acc[i] -= count
            correction = 1 - ETA ** self.age[i]
            units = eligible[torch.topk(-(self.util[i][eligible] / correction[eligible]), count)[1]]
            mean_hat = self.mean[i][units] / correction[units]
            for nxt in nexts:
                nxt.bias += nxt.weight[:, units] @ mean_hat
                nxt.weight[:, units] = 0
            layer.weight[units] = torch.nn.init.kaiming_uniform_(torch.empty(count, layer.in_features), a=math.sqrt(5))
            layer.bias[units] = 0
            # Plain SGD keeps no state to reset.
            self.util[i][units] = 0
            self.mean[i][units] = 0
            self.age[i][units] = 0


def main():
    root, threads, width, algorithm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    rho = float(sys.argv[5]) if len(sys.argv) > 5 else 1e-3
    torch.set_num_threads(threads)
    raw, y = read_split(root, "train")
    x = normalize(raw[:, torch.from_numpy(np.random.default_rng(1).permutation(784))])
    torch.manual_seed(0)
    layers = [torch.nn.Linear(784, width), torch.nn.Linear(width, width), torch.nn.Linear(width, width)]
    head = torch.nn.Linear(width, 10)
    params = [p for m in layers + [head] for p in m.parameters()]
    opt = torch.optim.SGD(params, lr=LR)
    cbp = CBP(layers, [head], rho) if algorithm == "cbp" else None
    order = torch.randperm(len(y))
    start, cpu_start = time.perf_counter(), time.process_time()
    correct = 0
    for b in range(0, len(y), BATCH):
        idx = order[b:b + BATCH]
        h, acts = x[idx], []
        for layer in layers:
            h = torch.relu(layer(h))
            acts.append(h)
        logits = head(h)
        target = y[idx]
        loss = F.cross_entropy(logits, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if cbp is not None:
            cbp.step(acts)
        correct += (logits.argmax(1) == target).sum().item()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    print(json.dumps({"trainSeconds": seconds, "cpuSeconds": cpu_seconds, "onlineAccuracy": correct / len(y)}))


if __name__ == "__main__":
    main()
