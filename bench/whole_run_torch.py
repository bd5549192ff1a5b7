"""PyTorch side of the whole-run benchmark (bench/whole_run.ts runs it).

The whole protocol of a continual-learning run, as a plain PyTorch user
writes it: 10 tasks of Permuted Fashion-MNIST (task-incremental, one 10-class
head per task), an MLP 784-256-256, one epoch per task (batch 64, SGD lr
0.01, a fresh optimizer per task over the backbone and the task's head), and
after each task the test accuracy and loss of every task seen so far (batches
of 1,000).

DATA says how the task's images are prepared:
  copy   the plain loop: at each task's start a permuted, normalised float
         copy of its training and test images (the test copies are kept),
         as most scripts do;
  batch  our benchmark layer's way: the images stay uint8 and each batch is
         gathered, permuted and normalised when it is used.
Hooks read a split's rows as x[idx], x[a:b], the whole split as x[:], and
its size as len(x), which both kinds of split support.

The algorithm is one class of hooks (class Algorithm below); its
transcriptions live in whole_run_regularization.py, whole_run_rehearsal.py and
whole_run_isolation.py, each written from docs/algorithms/ and
algorithms-next.md at our defaults, not from our TypeScript.

Usage: whole_run_torch.py ALGORITHM DATA_DIR THREADS [TASKS] [EPOCHS] [DATA];
prints one JSON line with the wall times and the final average accuracy.
"""
import json
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from fashion_mnist_torch import normalize, read_split

BATCH, EVAL_BATCH, LR, CLASSES = 64, 1000, 0.01, 10


class Run:
    """What every hook can reach: the network, the heads, the optimizer and the task's data."""

    def __init__(self, tasks, epochs):
        self.tasks = tasks
        self.epochs = epochs
        torch.manual_seed(0)
        self.layers = [torch.nn.Linear(784, 256), torch.nn.Linear(256, 256)]
        self.heads = []
        self.optimizer = None
        self.training = True

    def backbone_parameters(self):
        return [p for layer in self.layers for p in (layer.weight, layer.bias)]

    def features(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x

    def new_optimizer(self, params, lr=LR):
        return torch.optim.SGD(params, lr=lr)


class Algorithm:
    """Finetuning, and the hooks every other algorithm overrides."""

    def __init__(self, run):
        self.run = run

    def trains(self, task):
        """Whether `task` is trained at all (Fix trains the first task only)."""
        return True

    def extra_parameters(self, task):
        """Parameters beyond the backbone and the task's head that the task's optimizer trains."""
        return []

    def task_start(self, task, x, y):
        pass

    def training_set(self, task, x, y):
        """The examples the task's epochs iterate, read as x[idx], y[idx]: the task's own
        by default (iCaRL adds its exemplars); asked after task_start."""
        return x, y

    def epoch_start(self, task, epoch):
        pass

    def forward(self, x, task, batch=None, batches=None):
        """Logits of `task`'s head; `batch` (from 0) of `batches` while training, None when testing."""
        return self.run.heads[task - 1](self.run.features(x))

    def loss(self, task, x, y, logits):
        return F.cross_entropy(logits, y)

    def after_backward(self, task):
        pass

    def after_step(self, task, x, y, logits):
        pass

    def task_end(self, task, x, y):
        pass


class TaskImages:
    """A task's images: uint8 rows, permuted and normalised per batch (x[idx], x[a:b]).
    x[:] builds the whole split, for algorithms that read every image at once."""

    def __init__(self, raw, perm):
        self.raw = raw
        self.perm = perm

    def __len__(self):
        return self.raw.shape[0]

    def __getitem__(self, rows):
        return normalize(self.raw[rows].index_select(1, self.perm))


class Fix(Algorithm):
    """The first task trained, every later task left untrained (heads at their initialisation)."""

    def trains(self, task):
        return task == 1


def load_algorithm(name, run):
    if name == "finetuning":
        return Algorithm(run)
    if name == "fix":
        return Fix(run)
    # Imported here: they import this module for Algorithm.
    import whole_run_isolation
    import whole_run_regularization
    import whole_run_rehearsal
    for module in (whole_run_regularization, whole_run_rehearsal, whole_run_isolation):
        if name in module.ALGORITHMS:
            return module.ALGORITHMS[name](run)
    raise SystemExit(f"unknown algorithm {name}")


def main():
    name, root = sys.argv[1], sys.argv[2]
    torch.set_num_threads(int(sys.argv[3]))
    tasks = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    epochs = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    data = sys.argv[6] if len(sys.argv) > 6 else "batch"
    start = time.perf_counter()
    raw_train, y_train = read_split(root, "train")
    raw_test, y_test = read_split(root, "t10k")
    rng = np.random.default_rng(0)
    perms = [torch.from_numpy(rng.permutation(784)) for _ in range(tasks)]
    run = Run(tasks, epochs)
    algorithm = load_algorithm(name, run)
    test_sets = []
    accuracy = []
    train_seconds = 0.0
    for task in range(1, tasks + 1):
        perm = perms[task - 1]
        if data == "copy":
            x = normalize(raw_train[:, perm])
            test_sets.append(normalize(raw_test[:, perm]))
        else:
            x = TaskImages(raw_train, perm)
            test_sets.append(TaskImages(raw_test, perm))
        run.heads.append(torch.nn.Linear(256, CLASSES))
        run.training = True
        algorithm.task_start(task, x, y_train)
        train_x, train_y = algorithm.training_set(task, x, y_train)
        params = run.backbone_parameters() + list(run.heads[-1].parameters()) + algorithm.extra_parameters(task)
        run.optimizer = run.new_optimizer(params)
        train_start = time.perf_counter()
        batches = (len(train_y) + BATCH - 1) // BATCH
        for epoch in range(1, epochs + 1 if algorithm.trains(task) else 1):
            algorithm.epoch_start(task, epoch)
            order = torch.randperm(len(train_y))
            for b in range(batches):
                idx = order[b * BATCH:(b + 1) * BATCH]
                xb, yb = train_x[idx], train_y[idx]
                run.optimizer.zero_grad(set_to_none=True)
                logits = algorithm.forward(xb, task, b, batches)
                loss = algorithm.loss(task, xb, yb, logits)
                loss.backward()
                algorithm.after_backward(task)
                run.optimizer.step()
                algorithm.after_step(task, xb, yb, logits)
        train_seconds += time.perf_counter() - train_start
        algorithm.task_end(task, x, y_train)
        del x, train_x
        run.training = False
        row = []
        with torch.no_grad():
            for seen in range(1, task + 1):
                xt = test_sets[seen - 1]
                correct, total_loss = 0, 0.0
                for i in range(0, len(y_test), EVAL_BATCH):
                    logits = algorithm.forward(xt[i:i + EVAL_BATCH], seen)
                    yt = y_test[i:i + EVAL_BATCH]
                    total_loss += F.cross_entropy(logits, yt, reduction="sum").item()
                    correct += (logits.argmax(1) == yt).sum().item()
                row.append(correct / len(y_test))
        accuracy.append(row)
    total = time.perf_counter() - start
    print(json.dumps({
        "totalSeconds": total, "trainSeconds": train_seconds,
        "averageAccuracy": sum(accuracy[-1]) / tasks,
        "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
