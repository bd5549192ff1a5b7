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

from fashion_mnist_torch import two_task_data, two_task_mlp

S_MAX = 400.0
C = 0.75
CLAMP = 6.0
COSH_CLAMP = 50.0
BATCH = 64


def main():
    root = sys.argv[1]
    torch.set_num_threads(int(sys.argv[2]))
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 6400
    raw, ytr, perms, layers, weights = two_task_mlp(root)
    heads = []
    # a<: the cumulative mask of each layer (zeros before task 1).
    cumulative = [torch.zeros(layer.out_features) for layer in layers]

    def forward(x, head, masks):
        h = x
        for layer, a in zip(layers, masks):
            h = torch.relu(layer(h)) * a
        return head(h)

    train_seconds = 0.0
    for task, limit in ((1, warmup), (2, len(ytr))):
        xtr, y, head = two_task_data(raw, ytr, perms, task, limit)
        heads.append(head)
        embeddings = [torch.nn.Parameter(torch.randn(layer.out_features)) for layer in layers]
        params = weights + [p for h in heads for p in h.parameters()] + embeddings
        opt = torch.optim.SGD(params, lr=0.05, momentum=0.9)
        # Fixed for the task: 1 - a< and its sum (R), the gradient factors (the
        # first layer's a column broadcast over its inputs), and what is frozen.
        with torch.no_grad():
            free = [1 - a for a in cumulative]
            free_total = float(sum(f.sum() for f in free))
            factors = []
            frozen = []
            for i, layer in enumerate(layers):
                a = cumulative[i]
                wf = (1 - a).unsqueeze(1) if i == 0 else 1 - torch.minimum(a.unsqueeze(1), cumulative[i - 1].unsqueeze(0))
                factors += [wf, 1 - a]
                used = a > 0.5
                wu = used.unsqueeze(1).expand_as(layer.weight) if i == 0 else used.unsqueeze(1) & (cumulative[i - 1] > 0.5).unsqueeze(0)
                frozen += [(layer.weight, wu.contiguous(), layer.weight.detach().clone()), (layer.bias, used, layer.bias.detach().clone())]
        order = torch.randperm(limit)
        batches = math.ceil(limit / BATCH)
        start = time.perf_counter()
        for b in range(1, batches + 1):
            idx = order[(b - 1) * BATCH:b * BATCH]
            s = S_MAX if batches == 1 else 1 / S_MAX + (S_MAX - 1 / S_MAX) * (b - 1) / (batches - 1)
            masks = [torch.sigmoid(s * e) for e in embeddings]
            reg = sum((a * f).sum() for a, f in zip(masks, free)) / free_total
            loss = F.cross_entropy(forward(xtr[idx], head, masks), y[idx]) + C * reg
            opt.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                for w, f in zip(weights, factors):
                    w.grad.mul_(f)
                for e in embeddings:
                    num = torch.cosh(torch.clamp(s * e, -COSH_CLAMP, COSH_CLAMP)) + 1
                    den = torch.cosh(e) + 1
                    e.grad.mul_(S_MAX / s * num / den)
            opt.step()
            with torch.no_grad():
                for e in embeddings:
                    e.clamp_(-CLAMP, CLAMP)
                for w, used, snapshot in frozen:
                    w.copy_(torch.where(used, snapshot, w))
        if task == 2:
            train_seconds = time.perf_counter() - start
        with torch.no_grad():
            cumulative = [torch.maximum(a, torch.sigmoid(S_MAX * e)) for a, e in zip(cumulative, embeddings)]
    used = sum(int((a > 0.5).sum()) for a in cumulative) / sum(a.numel() for a in cumulative)
    print(json.dumps({"trainSeconds": train_seconds, "finalLoss": loss.item(), "capacityUsed": used}))


if __name__ == "__main__":
    main()
