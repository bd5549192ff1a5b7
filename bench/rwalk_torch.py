"""PyTorch side of the RWalk part of the Regularization benchmark (bench/regularization.ts runs it).

Task 1 of Permuted Fashion-MNIST on its first WARMUP images (it only fills
RWalk's state), then one timed training epoch of task 2 on all 60,000 images,
with the same per-iteration algorithm as src/continual/algorithms/rwalk.ts
(docs/algorithms/rwalk.md): gradient g of the plain loss (autograd.grad,
graph retained), EWC++ importance F <- alpha g^2 + (1 - alpha) F, snapshot of
theta, loss + lambda sum p (theta - theta_prev)^2, backward, SGD step, then
l -= g (theta(t+1) - theta(t)) and, every delta_t iterations of the global
counter, s += l / (1/2 F (theta - theta_ck)^2 + eps). Every parameter of the
model (backbone and existing heads) is tracked, as on our side.
Usage: rwalk_torch.py DATA_DIR THREADS [WARMUP]; prints one JSON line.
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from fashion_mnist_torch import normalize, read_split

LAMBDA, ALPHA, DELTA_T = 0.1, 0.9, 10
EPS = torch.finfo(torch.float32).eps


class RWalk:
    def __init__(self):
        self.importance = {}
        self.scores = {}
        self.penalties = {}
        self.prev = {}
        self.global_step = 0

    def task_start(self, named):
        self.window_loss = {n: torch.zeros_like(p) for n, p in named}
        self.ck = {n: p.detach().clone() for n, p in named}
        self.task_scores = {n: torch.zeros_like(p) for n, p in named}

    def record(self, loss, named):
        grads = torch.autograd.grad(loss, [p for _, p in named], retain_graph=True, allow_unused=True)
        self.grad, self.before = {}, {}
        with torch.no_grad():
            for (n, p), g in zip(named, grads):
                g = torch.zeros_like(p) if g is None else g
                self.grad[n] = g
                f = self.importance.get(n)
                self.importance[n] = g * g if f is None else ALPHA * g * g + (1 - ALPHA) * f
                self.before[n] = p.detach().clone()

    def penalty(self, named):
        total = None
        for n, p in named:
            if n not in self.prev:
                continue
            term = (self.penalties[n] * (p - self.prev[n]) ** 2).sum()
            total = term if total is None else total + term
        return None if total is None else LAMBDA * total

    def batch_end(self, named):
        checkpoint = (self.global_step + 1) % DELTA_T == 0
        with torch.no_grad():
            for n, p in named:
                self.window_loss[n] -= self.grad[n] * (p - self.before[n])
                if checkpoint:
                    denom = 0.5 * self.importance[n] * (p - self.ck[n]) ** 2 + EPS
                    self.task_scores[n] += self.window_loss[n] / denom
                    self.window_loss[n].zero_()
                    self.ck[n].copy_(p)
        self.global_step += 1

    def task_end(self, named):
        with torch.no_grad():
            for n, p in named:
                s = self.task_scores[n]
                self.scores[n] = s.clone() if n not in self.scores else 0.5 * (self.scores[n] + s)
                self.prev[n] = p.detach().clone()
            max_f = max(self.importance[n].max().item() for n, _ in named)
            max_s = max(self.scores[n].max().item() for n, _ in named)
            for n, _ in named:
                self.penalties[n] = self.importance[n] / max_f + self.scores[n].relu() / max_s


def main():
    root = sys.argv[1]
    torch.set_num_threads(int(sys.argv[2]))
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 6400
    raw, ytr = read_split(root, "train")

    def task_data(task):
        perm = torch.from_numpy(np.random.default_rng(task).permutation(784))
        return normalize(raw[:, perm])

    torch.manual_seed(0)
    backbone = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(),
    )
    heads = torch.nn.ModuleList()
    rwalk = RWalk()

    def train(task, xtr, y):
        heads.append(torch.nn.Linear(256, 10))
        named = list(backbone.named_parameters()) + [(f"heads.{k}.{n}", p) for k, h in enumerate(heads) for n, p in h.named_parameters()]
        head = heads[task - 1]
        opt = torch.optim.SGD([p for _, p in named], lr=0.01)
        backbone.train()
        heads.train()
        rwalk.task_start(named)
        order = torch.randperm(len(y))
        # Only the epoch is timed, as on our side (task start and end excluded).
        start = time.perf_counter()
        for i in range(0, len(y), 64):
            idx = order[i:i + 64]
            loss = F.cross_entropy(head(backbone(xtr[idx])), y[idx])
            rwalk.record(loss, named)
            reg = rwalk.penalty(named)
            total = loss if reg is None else loss + reg
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            rwalk.batch_end(named)
        seconds = time.perf_counter() - start
        rwalk.task_end(named)
        return seconds, loss.item()

    train(1, task_data(1)[:warmup], ytr[:warmup])
    x2 = task_data(2)
    train_seconds, final = train(2, x2, ytr)
    print(json.dumps({"trainSeconds": train_seconds, "finalLoss": final}))


if __name__ == "__main__":
    main()
