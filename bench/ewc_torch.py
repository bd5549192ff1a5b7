"""PyTorch side of the EWC part of the Regularization benchmark (bench/regularization.ts runs it).

One training epoch of task K (default 10) of Permuted Fashion-MNIST with EWC,
K-1 earlier anchors and Fishers already present (random positive Fishers,
random anchors near the initial parameters, as on our side). The loss is the
straightforward per-task sum CLArena evaluates at every step:
    L + sum_{t<K} 1/2 lambda sum_i F_t,i (theta_i - theta*_t,i)^2
over the backbone's parameters (task-incremental heads are not regularised).
Usage: ewc_torch.py DATA_DIR THREADS [TASK] [LAMBDA]; prints one JSON line.
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
    task = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    lam = float(sys.argv[4]) if len(sys.argv) > 4 else 100.0
    rng = np.random.default_rng(task)
    perm = torch.from_numpy(rng.permutation(784))
    raw, ytr = read_split(root, "train")
    xtr = normalize(raw[:, perm])

    torch.manual_seed(0)
    backbone = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(),
    )
    # One head per task, as after task-incremental training of tasks 1..K.
    heads = torch.nn.ModuleList([torch.nn.Linear(256, 10) for _ in range(task)])
    params = dict(backbone.named_parameters())
    with torch.no_grad():
        terms = [
            ({n: torch.rand_like(p) * 1e-3 for n, p in params.items()},
             {n: p + 0.01 * torch.randn_like(p) for n, p in params.items()})
            for _ in range(task - 1)
        ]
    opt = torch.optim.SGD(list(backbone.parameters()) + list(heads.parameters()), lr=0.01)
    head = heads[task - 1]
    backbone.train()
    heads.train()
    order = torch.randperm(len(ytr))
    start = time.perf_counter()
    for i in range(0, len(ytr), 64):
        idx = order[i:i + 64]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(head(backbone(xtr[idx])), ytr[idx])
        for fisher, anchor in terms:
            reg = 0.0
            for n, p in params.items():
                reg = reg + (fisher[n] * (p - anchor[n]) ** 2).sum()
            loss = loss + 0.5 * lam * reg
        loss.backward()
        opt.step()
    train_seconds = time.perf_counter() - start
    print(json.dumps({"trainSeconds": train_seconds, "finalLoss": loss.item()}))


if __name__ == "__main__":
    main()
