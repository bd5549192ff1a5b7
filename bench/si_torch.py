"""PyTorch side of the SI benchmark (bench/si.ts runs it).

Task 1 of Permuted Fashion-MNIST on its first WARMUP images (it only fills
SI's importance and anchor), then one timed training epoch of task 2 on all
60,000 images, MLP 784-256-256 with task-incremental heads, batch 64, SGD
lr 0.05 momentum 0.9, with the same per-step algorithm as
src/continual/algorithms/si.ts (docs/algorithms/si.md): g(k), the gradient of
the unregularised loss (autograd.grad, graph retained), a snapshot of
theta(k), loss + c sum Omega (theta - theta*)^2, backward, SGD step, then
omega -= g(k) (theta(k+1) - theta(k)). At the task end
Omega <- relu(Omega + omega / ((theta_end - theta_start)^2 + xi)) and
theta* <- theta_end. The backbone's parameters are regularised (task-
incremental heads belong to one task each), as on our side.
Usage: si_torch.py DATA_DIR THREADS [WARMUP [C [XI]]]; prints one JSON line.
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from fashion_mnist_torch import normalize, read_split


def main():
    root = sys.argv[1]
    torch.set_num_threads(int(sys.argv[2]))
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 6400
    c = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    xi = float(sys.argv[5]) if len(sys.argv) > 5 else 0.1
    raw, ytr = read_split(root, "train")

    torch.manual_seed(0)
    backbone = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(),
    )
    heads = torch.nn.ModuleList()
    regularized = list(backbone.parameters())
    importance, anchor = None, None

    train_seconds = 0.0
    for task, limit in ((1, warmup), (2, len(ytr))):
        perm = torch.from_numpy(np.random.default_rng(task).permutation(784))
        xtr = normalize(raw[:limit, perm])
        y = ytr[:limit]
        heads.append(torch.nn.Linear(256, 10))
        head = heads[task - 1]
        opt = torch.optim.SGD(list(backbone.parameters()) + list(heads.parameters()), lr=0.05, momentum=0.9)
        omega = [torch.zeros_like(p) for p in regularized]
        task_start = [p.detach().clone() for p in regularized]
        order = torch.randperm(limit)
        # Only the epoch is timed, as on our side (task start and end excluded).
        start = time.perf_counter()
        for i in range(0, limit, 64):
            idx = order[i:i + 64]
            loss = F.cross_entropy(head(backbone(xtr[idx])), y[idx])
            grads = torch.autograd.grad(loss, regularized, retain_graph=True)
            before = [p.detach().clone() for p in regularized]
            total = loss
            if importance is not None:
                total = loss + c * sum((w * (p - a) ** 2).sum() for w, p, a in zip(importance, regularized, anchor))
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            with torch.no_grad():
                for o, g, p, b in zip(omega, grads, regularized, before):
                    o.addcmul_(g, p - b, value=-1)
        if task == 2:
            train_seconds = time.perf_counter() - start
        with torch.no_grad():
            increments = [o / ((p - s) ** 2 + xi) for o, p, s in zip(omega, regularized, task_start)]
            importance = increments if importance is None else [w + inc for w, inc in zip(importance, increments)]
            importance = [w.relu() for w in importance]
            anchor = [p.detach().clone() for p in regularized]
    print(json.dumps({"trainSeconds": train_seconds, "finalLoss": loss.item()}))


if __name__ == "__main__":
    main()
