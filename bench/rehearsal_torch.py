"""PyTorch side of the rehearsal benchmark (bench/rehearsal.ts runs it).

Split Fashion-MNIST in class-incremental learning: task 1 = classes {0, 1},
task 2 = classes {2, 3}. MLP 784-400-400, batch 32, plain SGD lr 0.03, a
memory of 500 examples. Task 1 trains on its first WARMUP images (it only
fills the memory); then one timed epoch of task 2 on all its 12,000 images.
Both algorithms are written from algorithms-next.md, not from our code:

derpp  one 10-class head from task 1 (the full-width class-incremental head);
       per step CE(B) + alpha * mse(h(x'), z') + beta * CE(h(x''), y'') on two
       independent draws of 32 from the memory (torch.randperm over the filled
       slots), then the batch's inputs, targets and pre-step logits offered to
       a reservoir memory one example at a time (Mammoth's buffer).
agem   a 2-class head per task, logits concatenated over the tasks seen; the
       memory holds 500 examples of task 1, stored at its end; per step g from
       the batch's CE, g_ref from the CE of 256 memory examples through
       torch.autograd.grad, and if g.g_ref < 0 the projection
       g - (g.g_ref / g_ref.g_ref) g_ref written back before the step.
sample only the memory: the time of one draw of 32 examples (inputs, targets,
       tasks) from a filled 500-example memory, averaged over DRAWS draws.

Usage: rehearsal_torch.py MODE DATA_DIR THREADS [WARMUP]; prints one JSON line.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

from fashion_mnist_torch import normalize, read_split

CAPACITY, BATCH, REPLAY, REFERENCE, LR = 500, 32, 32, 256, 0.03
ALPHA, BETA = 0.1, 0.5
DRAWS = 20000


def split_task(raw, labels, classes):
    rows = (labels == classes[0]) | (labels == classes[1])
    return normalize(raw[rows]), labels[rows]


class Reservoir:
    def __init__(self, width, capacity=CAPACITY):
        self.capacity = capacity
        self.x = torch.zeros(capacity, 784)
        self.y = torch.zeros(capacity, dtype=torch.long)
        self.t = torch.zeros(capacity, dtype=torch.long)
        self.z = torch.zeros(capacity, width) if width else None
        self.seen = 0
        self.size = 0

    def add(self, x, y, task, z=None):
        for i in range(x.shape[0]):
            if self.size < self.capacity:
                slot = self.size
                self.size += 1
            else:
                slot = int(torch.randint(0, self.seen + 1, ()))
            self.seen += 1
            if slot < self.capacity:
                self.x[slot] = x[i]
                self.y[slot] = y[i]
                self.t[slot] = task
                if z is not None:
                    self.z[slot] = z[i]

    def draw(self, k):
        return torch.randperm(self.size)[:k]


def project_gradient(params, reference):
    """A-GEM: if g . g_ref < 0, writes g - (g . g_ref / g_ref . g_ref) g_ref into the
    parameters' .grad; g from .grad, g_ref the reference gradients (None counts as zeros)."""
    g = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])
    g_ref = torch.cat([(q if q is not None else torch.zeros_like(p)).reshape(-1) for p, q in zip(params, reference)])
    dot = torch.dot(g, g_ref)
    if dot < 0:
        g = g - (dot / torch.dot(g_ref, g_ref)) * g_ref
        for p, part in zip(params, g.split([p.numel() for p in params])):
            p.grad = part.view_as(p)


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(784, 400), torch.nn.ReLU(), torch.nn.Linear(400, 400), torch.nn.ReLU())


def derpp(tasks, warmup):
    backbone, head = mlp(), torch.nn.Linear(400, 10)
    memory = Reservoir(10)
    params = list(backbone.parameters()) + list(head.parameters())
    seconds = 0.0
    for task, (x, y) in enumerate(tasks, start=1):
        if task == 1:
            x, y = x[:warmup], y[:warmup]
        opt = torch.optim.SGD(params, lr=LR)
        order = torch.randperm(len(y))
        start = time.perf_counter()
        for i in range(0, len(y), BATCH):
            idx = order[i:i + BATCH]
            xb, yb = x[idx], y[idx]
            logits = head(backbone(xb))
            loss = F.cross_entropy(logits, yb)
            if memory.size > 0:
                a = memory.draw(REPLAY)
                loss = loss + ALPHA * F.mse_loss(head(backbone(memory.x[a])), memory.z[a])
                b = memory.draw(REPLAY)
                loss = loss + BETA * F.cross_entropy(head(backbone(memory.x[b])), memory.y[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            memory.add(xb, yb, task, logits.detach())
        seconds = time.perf_counter() - start
    return seconds, loss.item()


def agem(tasks, warmup):
    backbone = mlp()
    heads = torch.nn.ModuleList()
    memory = Reservoir(0)
    seconds = 0.0
    for task, (x, y) in enumerate(tasks, start=1):
        if task == 1:
            x, y = x[:warmup], y[:warmup]
        heads.append(torch.nn.Linear(400, 2))
        params = list(backbone.parameters()) + list(heads.parameters())
        opt = torch.optim.SGD(params, lr=LR)
        order = torch.randperm(len(y))

        def loss_of(xb, yb):
            feature = backbone(xb)
            return F.cross_entropy(torch.cat([h(feature) for h in heads], 1), yb)

        start = time.perf_counter()
        for i in range(0, len(y), BATCH):
            idx = order[i:i + BATCH]
            loss = loss_of(x[idx], y[idx])
            opt.zero_grad(set_to_none=False)
            loss.backward()
            if memory.size > 0:
                r = memory.draw(REFERENCE)
                reference = torch.autograd.grad(loss_of(memory.x[r], memory.y[r]), params, allow_unused=True)
                project_gradient(params, reference)
            opt.step()
        seconds = time.perf_counter() - start
        keep = torch.randperm(len(y))[:CAPACITY]
        memory.add(x[keep], y[keep], task)
    return seconds, loss.item()


def sample():
    memory = Reservoir(0)
    memory.add(torch.randn(CAPACITY, 784), torch.randint(0, 10, (CAPACITY,)), 1)
    start = time.perf_counter()
    for _ in range(DRAWS):
        slots = memory.draw(REPLAY)
        memory.x[slots], memory.y[slots], memory.t[slots]
    return (time.perf_counter() - start) / DRAWS, 0.0


def main():
    mode, root = sys.argv[1], sys.argv[2]
    torch.set_num_threads(int(sys.argv[3]))
    warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 3200
    torch.manual_seed(0)
    if mode == "sample":
        seconds, final = sample()
    else:
        raw, labels = read_split(root, "train")
        tasks = [split_task(raw, labels, (0, 1)), split_task(raw, labels, (2, 3))]
        seconds, final = (derpp if mode == "derpp" else agem)(tasks, warmup)
    print(json.dumps({"seconds": seconds, "finalLoss": final}))


if __name__ == "__main__":
    main()
