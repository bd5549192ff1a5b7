"""PyTorch side of the engine benchmark (bench/engine.ts runs it).

Does exactly the work of bench/engine.ts's worker with Debian's python3-torch
(the same libtorch) and prints one JSON line.
  mlp  STEPS THREADS: MLP 784-256-256-10, batch 64, SGD + cross-entropy
  add  ITERS THREADS: c = a + b on 4-element tensors
"""
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

SET_TO_NONE = os.environ.get("ZERO_GRAD_TO_NONE", "1") == "1"


def mlp(steps, batches=16, batch=64, warmup=50):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    xs = [torch.randn(batch, 784) for _ in range(batches)]
    ys = [torch.randint(0, 10, (batch,)) for _ in range(batches)]

    def step(i):
        opt.zero_grad(set_to_none=SET_TO_NONE)
        loss = F.cross_entropy(model(xs[i % batches]), ys[i % batches])
        loss.backward()
        opt.step()
        return loss

    for i in range(warmup):
        step(i)
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(steps):
        loss = step(i)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {"samplesPerSec": steps * batch / elapsed, "samplesPerCpuSec": steps * batch / cpu, "seconds": elapsed, "finalLoss": loss.item()}


def add(iters):
    a = torch.randn(4)
    b = torch.randn(4)
    # As long as bench/engine.ts's warm-up (ADD_WARMUP per path).
    for _ in range(2 * 20000):
        c = a + b
    start = time.perf_counter()
    for _ in range(iters):
        c = a + b
    elapsed = time.perf_counter() - start
    return {"opsPerSec": iters / elapsed, "seconds": elapsed}


def main():
    mode, n, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    result = mlp(n) if mode == "mlp" else add(n)
    # ru_maxrss is in KiB on Linux.
    result["peakRssMb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["threads"] = torch.get_num_threads()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
