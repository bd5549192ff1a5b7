"""PyTorch side of the MAS benchmark (bench/mas.ts runs it).

epoch: one timed training epoch of task 2 of Permuted Fashion-MNIST (60,000
images, MLP 784-256-256 with one 10-class head per task, batch 64, SGD lr
0.01), the loss CE + lambda sum Omega (theta - theta*)^2 over the backbone and
head 1, with random positive Omega and theta* near the initial parameters, as
on our side.
importance: Omega = (1/N) sum_n |grad ||F(x_n)||^2| of an MLP 784-256-256-10
in eval mode, one sample at a time (one forward and backward each), on the
inputs and parameters bench/mas.ts wrote; Omega is written as raw float32 in
named parameter order.
Usage: mas_torch.py epoch THREADS DATA_DIR LAMBDA
       mas_torch.py importance THREADS BASE N OUT
Prints one JSON line.
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from fashion_mnist_torch import normalize, read_split


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU())


def epoch(root, lam):
    perm = torch.from_numpy(np.random.default_rng(2).permutation(784))
    raw, ytr = read_split(root, "train")
    xtr = normalize(raw[:, perm])
    torch.manual_seed(0)
    backbone = mlp()
    heads = torch.nn.ModuleList([torch.nn.Linear(256, 10) for _ in range(2)])
    named = list(backbone.named_parameters()) + list(heads[0].named_parameters(prefix="head1"))
    with torch.no_grad():
        omega = [torch.rand_like(p) * 1e-3 for _, p in named]
        anchor = [p + 0.01 * torch.randn_like(p) for _, p in named]
    opt = torch.optim.SGD(list(backbone.parameters()) + list(heads.parameters()), lr=0.01)
    backbone.train()
    order = torch.randperm(len(ytr))
    start = time.perf_counter()
    for i in range(0, len(ytr), 64):
        idx = order[i:i + 64]
        loss = F.cross_entropy(heads[1](backbone(xtr[idx])), ytr[idx])
        penalty = sum((o * (p - a) ** 2).sum() for (_, p), o, a in zip(named, omega, anchor))
        loss = loss + lam * penalty
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {"trainSeconds": time.perf_counter() - start, "finalLoss": loss.item()}


def importance(base, n, out):
    x = torch.from_numpy(np.fromfile(base + ".x", dtype=np.float32).reshape(n, 784))
    state = np.fromfile(base + ".params", dtype=np.float32)
    net = torch.nn.Sequential(*mlp(), torch.nn.Linear(256, 10))
    offset = 0
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.from_numpy(state[offset:offset + p.numel()]).reshape(p.shape))
            offset += p.numel()
    net.eval()
    start = time.perf_counter()
    omega = [torch.zeros_like(p) for p in net.parameters()]
    for i in range(n):
        net.zero_grad()
        net(x[i:i + 1]).pow(2).sum().backward()
        for o, p in zip(omega, net.parameters()):
            o += p.grad.abs()
    omega = [o / n for o in omega]
    seconds = time.perf_counter() - start
    np.concatenate([o.reshape(-1).numpy() for o in omega]).astype(np.float32).tofile(out)
    return {"seconds": seconds}


def main():
    torch.set_num_threads(int(sys.argv[2]))
    if sys.argv[1] == "epoch":
        result = epoch(sys.argv[3], float(sys.argv[4]))
    else:
        result = importance(sys.argv[3], int(sys.argv[4]), sys.argv[5])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
