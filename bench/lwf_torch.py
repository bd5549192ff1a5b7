"""PyTorch side of the LwF benchmark (bench/lwf.ts runs it).

Task 1 of Permuted Fashion-MNIST on its first WARMUP images, then one timed
training epoch of task 2 on all 60,000 images with LwF as
src/continual/algorithms/lwf.ts computes it (docs/algorithms/lwf.md): the
teacher is a copy of the model as task 2 begins, in eval mode; per step the
cross-entropy of head 2 plus lambda times
-sum softmax(z_teacher / T) * log_softmax(z_student / T), batch mean, on head
1, the teacher's logits under no_grad and the student's from the step's own
feature (one backbone pass). MLP 784-256-256, heads of 10 classes, batch 64,
plain SGD lr 0.01 over the whole model.
Usage: lwf_torch.py DATA_DIR THREADS [WARMUP LAMBDA T]; prints one JSON line.
"""
import copy
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from fashion_mnist_torch import normalize, read_split


def distillation(student, teacher, temperature):
    return -(F.softmax(teacher / temperature, dim=1) * F.log_softmax(student / temperature, dim=1)).sum(1).mean()


def main():
    root = sys.argv[1]
    torch.set_num_threads(int(sys.argv[2]))
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 6400
    lam = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    temperature = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
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

    def train(task, xtr, y):
        heads.append(torch.nn.Linear(256, 10))
        head = heads[task - 1]
        old = list(range(task - 1))
        teacher_backbone = copy.deepcopy(backbone).eval().requires_grad_(False) if old else None
        teacher_heads = [copy.deepcopy(heads[j]).eval().requires_grad_(False) for j in old]
        opt = torch.optim.SGD(list(backbone.parameters()) + list(heads.parameters()), lr=0.01)
        backbone.train()
        heads.train()
        order = torch.randperm(len(y))
        # Only the epoch is timed, as on our side (the teacher copy is made before).
        start = time.perf_counter()
        for i in range(0, len(y), 64):
            idx = order[i:i + 64]
            x = xtr[idx]
            feature = backbone(x)
            loss = F.cross_entropy(head(feature), y[idx])
            total = loss
            if old:
                with torch.no_grad():
                    teacher_feature = teacher_backbone(x)
                    teacher_logits = [h(teacher_feature) for h in teacher_heads]
                reg = sum(distillation(heads[j](feature), z, temperature) for j, z in zip(old, teacher_logits))
                total = loss + lam * reg
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
        return time.perf_counter() - start, loss.item()

    train(1, task_data(1)[:warmup], ytr[:warmup])
    train_seconds, final = train(2, task_data(2), ytr)
    print(json.dumps({"trainSeconds": train_seconds, "finalLoss": final}))


if __name__ == "__main__":
    main()
