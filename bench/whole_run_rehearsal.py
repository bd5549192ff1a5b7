"""Algorithms of the whole-run benchmark's PyTorch side (bench/whole_run_torch.py):
the rehearsal group, each a subclass of whole_run_torch.Algorithm written from
docs/algorithms/ and algorithms-next.md at our defaults.

The protocol is task-incremental: a memory example of task j is scored by head
j, and since replayed examples (or iCaRL's concatenated heads, or A-GEM's
projection) reach the heads of earlier tasks, those heads are trained too, as
our optimizer, which holds every head, trains them.

replay  reservoir of 1000; CE(B) + CE(32 drawn) (a second forward pass)
er      reservoir of 200; one forward over B and 32 drawn, the CE summed over
        both and divided by their count
erAce   reservoir of 200; CE(B) with the task's classes seen earlier and absent
        from B masked, + CE(32 drawn)
der     reservoir of 200 with the pre-step logits; CE(B) + 0.3 mse(h(x'), z')
derpp   der at alpha 0.1, + 0.5 CE on a second, independent draw of 32
agem    memory of 1000 filled at task end (the task's examples in a random
        order through a reservoir); the gradient projected on 256 drawn ones
icarl   the task's data and the exemplars (500 over the classes seen), sigmoid
        loss with the old classes' targets from the model as the task began;
        herding at task end; tested by the nearest mean of exemplars among the
        task's classes
gdumb   a greedy class-balanced memory of 500 filled at task start, no training
        on the stream; at task end the network re-initialised and trained on
        the memory (256 passes, batches of 16, SGD momentum 0.9, SGDR)
"""
import copy

import torch
import torch.nn.functional as F

from rehearsal_torch import Reservoir, project_gradient
from whole_run_torch import BATCH, CLASSES, Algorithm


def own_heads(run, feature, tasks):
    """Each row's logits through the head of its own task."""
    logits = feature.new_empty(feature.shape[0], CLASSES)
    for task in tasks.unique().tolist():
        rows = tasks == task
        logits[rows] = run.heads[task - 1](feature[rows])
    return logits


def head_parameters(heads):
    return [p for head in heads for p in head.parameters()]


class Memory(Algorithm):
    """A reservoir memory: inputs, local targets, tasks, and logits when WIDTH."""

    CAPACITY, DRAW, WIDTH = 1000, 32, 0

    def __init__(self, run):
        super().__init__(run)
        self.memory = Reservoir(self.WIDTH, self.CAPACITY)

    def extra_parameters(self, task):
        return head_parameters(self.run.heads[:task - 1])

    def draw(self):
        slots = self.memory.draw(self.DRAW)
        return self.memory.x[slots], self.memory.y[slots], self.memory.t[slots], slots

    def replayed_loss(self):
        """The mean CE of a draw through the current model, or None while the memory is empty."""
        if self.memory.size == 0:
            return None
        x, y, tasks, _ = self.draw()
        return F.cross_entropy(own_heads(self.run, self.run.features(x), tasks), y)


class Replay(Memory):
    """The batch offered to the memory after each step."""

    def loss(self, task, x, y, logits):
        loss = F.cross_entropy(logits, y)
        replayed = self.replayed_loss()
        return loss if replayed is None else loss + replayed

    def after_step(self, task, x, y, logits):
        self.memory.add(x, y, task)


class ER(Replay):
    """combine: concat, one backbone pass over the batch and the draw."""

    CAPACITY = 200

    def forward(self, x, task, batch=None, batches=None):
        self.pending = None
        if batch is None or self.memory.size == 0:
            return super().forward(x, task)
        xm, ym, tm, _ = self.draw()
        feature = self.run.features(torch.cat([x, xm]))
        n = x.shape[0]
        self.pending = own_heads(self.run, feature[n:], tm), ym
        return self.run.heads[task - 1](feature[:n])

    def loss(self, task, x, y, logits):
        if self.pending is None:
            return F.cross_entropy(logits, y)
        replayed, ym = self.pending
        total = F.cross_entropy(logits, y, reduction="sum") + F.cross_entropy(replayed, ym, reduction="sum")
        return total / (len(y) + len(ym))


class ERACE(Replay):
    CAPACITY = 200

    def __init__(self, run):
        super().__init__(run)
        self.seen = {}

    def loss(self, task, x, y, logits):
        present = y.unique()
        seen = self.seen.setdefault(task, set())
        seen.update(present.tolist())
        keep = torch.zeros(logits.shape[1], dtype=torch.bool)
        keep[present] = True
        keep[max(seen):] = True
        loss = F.cross_entropy(logits.masked_fill(~keep, -1e9), y)
        replayed = self.replayed_loss()
        return loss if replayed is None else loss + replayed


class DER(Replay):
    CAPACITY, WIDTH, ALPHA, BETA = 200, CLASSES, 0.3, None

    def loss(self, task, x, y, logits):
        loss = F.cross_entropy(logits, y)
        if self.memory.size == 0:
            return loss
        xm, _, tm, slots = self.draw()
        loss = loss + self.ALPHA * F.mse_loss(own_heads(self.run, self.run.features(xm), tm), self.memory.z[slots])
        if self.BETA is not None:
            loss = loss + self.BETA * self.replayed_loss()
        return loss

    def after_step(self, task, x, y, logits):
        self.memory.add(x, y, task, logits.detach())


class DERpp(DER):
    ALPHA, BETA = 0.1, 0.5


class AGEM(Memory):
    DRAW, CHUNK = 256, 1024

    def after_backward(self, task):
        if self.memory.size == 0:
            return
        run = self.run
        params = run.backbone_parameters() + head_parameters(run.heads)
        x, y, tasks, _ = self.draw()
        reference = torch.autograd.grad(F.cross_entropy(own_heads(run, run.features(x), tasks), y), params, allow_unused=True)
        project_gradient(params, reference)

    def task_end(self, task, x, y):
        order = torch.randperm(len(y))
        for i in range(0, len(y), self.CHUNK):
            idx = order[i:i + self.CHUNK]
            self.memory.add(x[idx], y[idx], task)


def herding(features, m):
    """Indices of min(m, N) distinct rows of `features`: each the one bringing the mean
    of those chosen closest to the mean of all (ties to the lowest index)."""
    mu = features.mean(0)
    total = torch.zeros_like(mu)
    taken = torch.zeros(features.shape[0], dtype=torch.bool)
    chosen = []
    for k in range(1, min(m, features.shape[0]) + 1):
        distance = (mu - (features + total) / k).square().sum(1)
        distance[taken] = float("inf")
        best = int(distance.argmin())
        chosen.append(best)
        taken[best] = True
        total += features[best]
    return chosen


class ICaRL(Algorithm):
    CAPACITY = 500

    def __init__(self, run):
        super().__init__(run)
        self.exemplars = {}
        self.means = None
        self.teacher = None

    def extra_parameters(self, task):
        return head_parameters(self.run.heads[:task - 1])

    def task_start(self, task, x, y):
        if task > 1:
            self.teacher = copy.deepcopy((self.run.layers, self.run.heads[:task - 1]))

    def training_set(self, task, x, y):
        y = y + CLASSES * (task - 1)
        if not self.exemplars:
            return x, y
        classes = sorted(self.exemplars)
        xs = torch.cat([x[:]] + [self.exemplars[c] for c in classes])
        ys = torch.cat([y] + [torch.full((len(self.exemplars[c]),), c) for c in classes])
        return xs, ys

    def forward(self, x, task, batch=None, batches=None):
        feature = self.run.features(x)
        if self.run.training:
            return torch.cat([head(feature) for head in self.run.heads[:task]], 1)
        means = self.means[CLASSES * (task - 1):CLASSES * task]
        return -(F.normalize(feature).unsqueeze(1) - means.unsqueeze(0)).square().sum(2)

    def loss(self, task, x, y, logits):
        target = F.one_hot(y, logits.shape[1]).float()
        if self.teacher is not None:
            layers, heads = self.teacher
            with torch.no_grad():
                feature = x
                for layer in layers:
                    feature = torch.relu(layer(feature))
                target[:, :CLASSES * (task - 1)] = torch.sigmoid(torch.cat([head(feature) for head in heads], 1))
        return F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(1).mean()

    def normalised_features(self, x):
        with torch.no_grad():
            return torch.cat([F.normalize(self.run.features(x[i:i + BATCH])) for i in range(0, len(x), BATCH)])

    def task_end(self, task, x, y):
        self.teacher = None
        first = CLASSES * (task - 1)
        m = self.CAPACITY // (first + CLASSES)
        for c in self.exemplars:
            self.exemplars[c] = self.exemplars[c][:m]
        features = self.normalised_features(x)
        for local in range(CLASSES):
            rows = (y == local).nonzero().squeeze(1)
            self.exemplars[first + local] = x[rows[herding(features[rows], m)]]
        classes = sorted(self.exemplars)
        features = self.normalised_features(torch.cat([self.exemplars[c] for c in classes]))
        per_class = features.split([len(self.exemplars[c]) for c in classes])
        self.means = F.normalize(torch.stack([part.mean(0) for part in per_class]))


class GDumb(Algorithm):
    CAPACITY, EPOCHS, BATCH, MAX_LR, MIN_LR, MOMENTUM, WEIGHT_DECAY, CLIP = 500, 256, 16, 0.05, 0.0005, 0.9, 1e-6, 10.0

    def __init__(self, run):
        super().__init__(run)
        self.x = torch.zeros(self.CAPACITY, 784)
        self.labels = []
        self.held = {}
        self.seen = set()

    def trains(self, task):
        return False

    def slot_for(self, label):
        """The greedy sampler: append while not full, else replace a random example of
        the largest class if `label` is under its share, else None (skipped)."""
        if len(self.labels) < self.CAPACITY:
            self.labels.append(None)
            return len(self.labels) - 1
        if self.held.get(label, 0) >= self.CAPACITY / len(self.seen):
            return None
        largest = max(self.held, key=self.held.get)
        slots = [s for s, c in enumerate(self.labels) if c == largest]
        return slots[int(torch.randint(len(slots), ()))]

    def task_start(self, task, x, y):
        order = torch.randperm(len(y))
        writes = {}
        for row, label in zip(order.tolist(), (y[order] + CLASSES * (task - 1)).tolist()):
            self.seen.add(label)
            slot = self.slot_for(label)
            if slot is None:
                continue
            old = self.labels[slot]
            if old is not None:
                self.held[old] -= 1
            self.labels[slot] = label
            self.held[label] = self.held.get(label, 0) + 1
            writes[slot] = row
        self.x[list(writes)] = x[torch.tensor(list(writes.values()))]

    def task_end(self, task, x, y):
        run = self.run
        for layer in run.layers + run.heads:
            layer.reset_parameters()
        params = run.backbone_parameters() + head_parameters(run.heads)
        optimizer = torch.optim.SGD(params, lr=self.MAX_LR, momentum=self.MOMENTUM, weight_decay=self.WEIGHT_DECAY)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=1, T_mult=2, eta_min=self.MIN_LR)
        memory_x, memory_y = self.x[:len(self.labels)], torch.tensor(self.labels)
        for epoch in range(self.EPOCHS):
            if epoch < 2:
                optimizer.param_groups[0]["lr"] = self.MAX_LR * (0.1 if epoch == 0 else 1)
            else:
                scheduler.step()
            order = torch.randperm(len(memory_y))
            for i in range(0, len(memory_y), self.BATCH):
                idx = order[i:i + self.BATCH]
                feature = run.features(memory_x[idx])
                loss = F.cross_entropy(torch.cat([head(feature) for head in run.heads], 1), memory_y[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, self.CLIP)
                optimizer.step()


ALGORITHMS = {
    "replay": Replay, "er": ER, "erAce": ERACE, "der": DER, "derpp": DERpp,
    "icarl": ICaRL, "agem": AGEM, "gdumb": GDumb,
}
