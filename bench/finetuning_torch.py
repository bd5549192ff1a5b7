"""PyTorch side of the Finetuning benchmark (bench/finetuning.ts runs it).

One task of Permuted Fashion-MNIST, as `perennial run` does it: read the
gzipped IDX files, permute the pixels, normalise, train an MLP
784-256-256-10 for one epoch (batch 64, SGD lr 0.01, shuffled), then test.
Prints one JSON line with the wall times of loading, training and testing.
"""
import json
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from fashion_mnist_torch import normalize, read_split



def main():
    root = sys.argv[1]
    torch.set_num_threads(int(sys.argv[2]))
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    perm = torch.from_numpy(rng.permutation(784))

    def load(split):
        raw, y = read_split(root, split)
        return normalize(raw[:, perm]), y

    xtr, ytr = load("train")
    xte, yte = load("t10k")
    loaded = time.perf_counter()

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train()
    order = torch.randperm(len(ytr))
    for i in range(0, len(ytr), 64):
        idx = order[i:i + 64]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()
    trained = time.perf_counter()

    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(yte), 1000):
            correct += (model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
    tested = time.perf_counter()
    print(json.dumps({
        "loadSeconds": loaded - start, "trainSeconds": trained - loaded, "testSeconds": tested - trained,
        "totalSeconds": tested - start, "testAccuracy": correct / len(yte),
        "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
