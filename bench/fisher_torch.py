"""The one-sample-at-a-time empirical Fisher (hypnettorch's method) of an MLP
784-256-256-10 on seeded random data; bench/fisher.ts compares our batched
path against it, each timed after an untimed pass over the first 500 samples.
Usage: fisher_torch.py <n> <threads> <base> <out.f32>. Prints one JSON line;
writes the Fisher as raw float32 (parameters in named order)."""
import json
import sys
import time

import numpy as np
import torch

n, threads, base, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
torch.set_num_threads(threads)
x = torch.from_numpy(np.fromfile(base + ".x", dtype=np.float32).reshape(n, 784))
y = torch.from_numpy(np.fromfile(base + ".y", dtype=np.int64))
state = np.fromfile(base + ".params", dtype=np.float32)
net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
offset = 0
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.from_numpy(state[offset:offset + p.numel()]).reshape(p.shape))
        offset += p.numel()
net.eval()


def fisher_of(count):
    """The loop over the first `count` samples."""
    sums = [torch.zeros_like(p) for p in net.parameters()]
    for i in range(count):
        nll = torch.nn.functional.nll_loss(torch.log_softmax(net(x[i:i + 1]), dim=1), y[i:i + 1])
        net.zero_grad()
        nll.backward()
        for f, p in zip(sums, net.parameters()):
            f += p.grad.detach() ** 2
    return [f / count for f in sums]


# Untimed, on as many samples as bench/fisher.ts warms up on (WARMUP).
fisher_of(min(n, 500))
start = time.perf_counter()
fisher = fisher_of(n)
seconds = time.perf_counter() - start
np.concatenate([f.reshape(-1).numpy() for f in fisher]).astype(np.float32).tofile(out)
print(json.dumps({"seconds": seconds}))
