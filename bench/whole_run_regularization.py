"""Algorithms of the whole-run benchmark's PyTorch side (bench/whole_run_torch.py):
the regularization group, each a subclass of whole_run_torch.Algorithm written from
docs/algorithms/ and algorithms-next.md at our defaults.

EWC, online EWC and SI regularise the backbone only (task-incremental heads
belong to one task each); RWalk and MAS cover every parameter, heads included,
as ours do. The Amnesiac variants train as their base algorithm and, as no
unlearning is requested in this protocol, only keep what an unlearning
request would need: each task's change of every parameter (and AmnesiacSI
each task's importance increment).
"""
import copy

import torch
import torch.nn.functional as F

from whole_run_torch import BATCH, Algorithm


def all_parameters(run):
    """The backbone's parameters, then every head's in task order."""
    return run.backbone_parameters() + [p for head in run.heads for p in head.parameters()]


def detached_copy(params):
    return [p.detach().clone() for p in params]


def weighted_distance(params, weights, anchors):
    """sum_i w_i (theta_i - a_i)^2 over the parameters that have a weight."""
    return sum((w * (p - a) ** 2).sum() for p, w, a in zip(params, weights, anchors))


def minibatch_fisher(algorithm, task, x, y):
    """The backbone's diagonal Fisher after a task: one pass over its training
    data in batches, (1/N) sum_batches B (grad of the batch-mean loss)^2."""
    params = algorithm.run.backbone_parameters()
    fisher = [torch.zeros_like(p) for p in params]
    for a in range(0, len(x), BATCH):
        xb, yb = x[a:a + BATCH], y[a:a + BATCH]
        loss = F.cross_entropy(algorithm.forward(xb, task), yb)
        for f, g in zip(fisher, torch.autograd.grad(loss, params)):
            f.addcmul_(g, g, value=len(yb))
    return [f / len(x) for f in fisher]


class EWC(Algorithm):
    """L + sum_t 1/2 lambda sum_i F_t,i (theta_i - theta*_t,i)^2, one Fisher and anchor per earlier task."""

    def __init__(self, run, lam=1.0):
        super().__init__(run)
        self.lam = lam
        self.terms = []

    def loss(self, task, x, y, logits):
        loss = F.cross_entropy(logits, y)
        params = self.run.backbone_parameters()
        for fisher, anchor in self.terms:
            loss = loss + 0.5 * self.lam * weighted_distance(params, fisher, anchor)
        return loss

    def task_end(self, task, x, y):
        fisher = minibatch_fisher(self, task, x, y)
        self.terms.append((fisher, detached_copy(self.run.backbone_parameters())))


class OnlineEWC(Algorithm):
    """One running Fisher F* <- gamma F* + F_t and one anchor; penalty 1/2 lambda gamma sum F* (theta - theta*)^2."""

    def __init__(self, run, lam=1.0, gamma=1.0):
        super().__init__(run)
        self.lam = lam
        self.gamma = gamma
        self.fisher = None
        self.anchor = None

    def loss(self, task, x, y, logits):
        loss = F.cross_entropy(logits, y)
        if self.fisher is None:
            return loss
        return loss + 0.5 * self.lam * self.gamma * weighted_distance(self.run.backbone_parameters(), self.fisher, self.anchor)

    def task_end(self, task, x, y):
        fresh = minibatch_fisher(self, task, x, y)
        self.fisher = fresh if self.fisher is None else [self.gamma * f + g for f, g in zip(self.fisher, fresh)]
        self.anchor = detached_copy(self.run.backbone_parameters())


class RWalk(Algorithm):
    """EWC++ importance and path-integral scores weighting a pull towards the previous task's parameters."""

    EPSILON = torch.finfo(torch.float32).eps

    def __init__(self, run, lam=0.1, alpha=0.9, delta_t=10):
        super().__init__(run)
        self.lam, self.alpha, self.delta_t = lam, alpha, delta_t
        self.step = 0
        self.importance = []
        self.task_scores = []
        self.scores = []
        self.penalties = []
        self.previous = []

    def task_start(self, task, x, y):
        params = all_parameters(self.run)
        # The task's new head gets zero scores; a score window starts with each task.
        self.task_scores += [torch.zeros_like(p) for p in params[len(self.task_scores):]]
        self.window_loss = [torch.zeros_like(p) for p in params]
        self.checkpoint = detached_copy(params)

    def loss(self, task, x, y, logits):
        loss = F.cross_entropy(logits, y)
        params = all_parameters(self.run)
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        self.grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
        with torch.no_grad():
            for i, g in enumerate(self.grads):
                if i < len(self.importance):
                    self.importance[i] = self.alpha * g * g + (1 - self.alpha) * self.importance[i]
                else:
                    self.importance.append(g * g)
        self.before = detached_copy(params)
        if not self.previous:
            return loss
        return loss + self.lam * weighted_distance(params, self.penalties, self.previous)

    def after_step(self, task, x, y, logits):
        self.step += 1
        checkpoint = self.step % self.delta_t == 0
        with torch.no_grad():
            for i, p in enumerate(all_parameters(self.run)):
                self.window_loss[i] -= self.grads[i] * (p - self.before[i])
                if checkpoint:
                    self.task_scores[i] += self.window_loss[i] / (0.5 * self.importance[i] * (p - self.checkpoint[i]) ** 2 + self.EPSILON)
                    self.window_loss[i].zero_()
                    self.checkpoint[i].copy_(p)

    def task_end(self, task, x, y):
        params = all_parameters(self.run)
        for i, s in enumerate(self.task_scores):
            if i < len(self.scores):
                self.scores[i] = 0.5 * (self.scores[i] + s)
            else:
                self.scores.append(s.clone())
        max_importance = max(f.max() for f in self.importance)
        max_score = max(s.max() for s in self.scores)
        self.penalties = [f / max_importance + s.relu() / max_score for f, s in zip(self.importance, self.scores)]
        self.previous = detached_copy(params)
        for s in self.task_scores:
            s.zero_()


class SI(Algorithm):
    """omega -= g dtheta each step (g of the plain loss); at a task end Omega <- relu(Omega + omega / (dtheta_task^2 + xi))."""

    def __init__(self, run, c=1.0, xi=0.1):
        super().__init__(run)
        self.c, self.xi = c, xi
        self.importance = None
        self.anchor = None

    def task_start(self, task, x, y):
        params = self.run.backbone_parameters()
        self.start = detached_copy(params)
        self.omega = [torch.zeros_like(p) for p in params]

    def loss(self, task, x, y, logits):
        loss = F.cross_entropy(logits, y)
        params = self.run.backbone_parameters()
        self.grads = torch.autograd.grad(loss, params, retain_graph=True)
        self.before = detached_copy(params)
        if self.importance is None:
            return loss
        return loss + self.c * weighted_distance(params, self.importance, self.anchor)

    def after_step(self, task, x, y, logits):
        with torch.no_grad():
            for w, g, before, p in zip(self.omega, self.grads, self.before, self.run.backbone_parameters()):
                w.addcmul_(g, before - p)

    def task_end(self, task, x, y):
        params = self.run.backbone_parameters()
        with torch.no_grad():
            increment = [w / ((p - s) ** 2 + self.xi) for w, p, s in zip(self.omega, params, self.start)]
        self.add_importance(task, increment)
        self.anchor = detached_copy(params)

    def add_importance(self, task, increment):
        if self.importance is None:
            self.importance = [i.relu() for i in increment]
        else:
            self.importance = [(o + i).relu() for o, i in zip(self.importance, increment)]


class MAS(Algorithm):
    """Omega += (1/N) sum_n |grad ||F(x_n)||^2| after each task (per sample, every parameter); penalty lambda sum Omega (theta - theta*)^2."""

    def __init__(self, run, lam=0.1):
        super().__init__(run)
        self.lam = lam
        self.importance = []
        self.anchor = []

    def loss(self, task, x, y, logits):
        loss = F.cross_entropy(logits, y)
        if not self.anchor:
            return loss
        return loss + self.lam * weighted_distance(all_parameters(self.run), self.importance, self.anchor)

    def task_end(self, task, x, y):
        # Each layer's per-sample |gradient| summed over the samples without a
        # per-sample loop: sum_n |g_n a_n^T| = |G|^T |A| (G the gradient at the
        # layer's output, A its input), and sum_n |g_n| for the bias.
        layers = self.run.layers + [self.run.heads[task - 1]]
        sums = {layer: [torch.zeros_like(layer.weight), torch.zeros_like(layer.bias)] for layer in layers}
        for a in range(0, len(x), BATCH):
            h = x[a:a + BATCH]
            inputs, outputs = [], []
            for k, layer in enumerate(layers):
                inputs.append(h)
                outputs.append(layer(h))
                h = outputs[-1] if k == len(layers) - 1 else torch.relu(outputs[-1])
            grads = torch.autograd.grad(h.square().sum(), outputs)
            with torch.no_grad():
                for layer, inp, g in zip(layers, inputs, grads):
                    g = g.abs()
                    sums[layer][0] += g.t() @ inp.abs()
                    sums[layer][1] += g.sum(0)
        found = {}
        for layer in layers:
            found[layer.weight], found[layer.bias] = (s / len(x) for s in sums[layer])
        # Heads of other tasks are off the pass: their importance this task is zero.
        task_importance = [found[p] if p in found else torch.zeros_like(p) for p in all_parameters(self.run)]
        self.importance = [o + t for o, t in zip(self.importance, task_importance)] + task_importance[len(self.importance):]
        self.anchor = detached_copy(all_parameters(self.run))


class LwF(Algorithm):
    """CE + lambda sum_{j<t} CE(student head j / T, softmax(teacher head j / T)), the teacher the model as the task began; old heads trained."""

    def __init__(self, run, lam=1.0, temperature=2.0):
        super().__init__(run)
        self.lam, self.temperature = lam, temperature
        self.teacher = None

    def extra_parameters(self, task):
        return [p for head in self.run.heads[:task - 1] for p in head.parameters()]

    def task_start(self, task, x, y):
        if task > 1:
            layers, heads = copy.deepcopy(self.run.layers), copy.deepcopy(self.run.heads[:task - 1])
            for module in layers + heads:
                module.requires_grad_(False)
            self.teacher = (layers, heads)

    def forward(self, x, task, batch=None, batches=None):
        self.feature = self.run.features(x)
        return self.run.heads[task - 1](self.feature)

    def loss(self, task, x, y, logits):
        loss = F.cross_entropy(logits, y)
        if self.teacher is None:
            return loss
        layers, heads = self.teacher
        with torch.no_grad():
            feature = x
            for layer in layers:
                feature = torch.relu(layer(feature))
        t = self.temperature
        for student, teacher in zip(self.run.heads, heads):
            soft = torch.softmax(teacher(feature) / t, 1)
            loss = loss + self.lam * F.cross_entropy(student(self.feature) / t, soft)
        return loss

    def task_end(self, task, x, y):
        self.teacher = None


class Amnesiac(Algorithm):
    """Mixed in before an algorithm: each task's change of every parameter,
    backbone and heads, kept for unlearning."""

    def __init__(self, run):
        super().__init__(run)
        self.deltas = []

    def task_start(self, task, x, y):
        self.start = detached_copy(all_parameters(self.run))
        super().task_start(task, x, y)

    def task_end(self, task, x, y):
        super().task_end(task, x, y)
        self.deltas.append([p.detach() - s for p, s in zip(all_parameters(self.run), self.start)])
        del self.start


class AmnesiacFinetuning(Amnesiac):
    pass


class AmnesiacEWC(Amnesiac, EWC):
    pass


class AmnesiacLwF(Amnesiac, LwF):
    pass


class AmnesiacSI(Amnesiac, SI):
    """Also keeps each task's importance increment, so that Omega can be refolded without it."""

    def __init__(self, run):
        super().__init__(run)
        self.increments = []

    def add_importance(self, task, increment):
        super().add_importance(task, increment)
        self.increments.append(increment)


ALGORITHMS = {
    "ewc": EWC,
    "onlineEwc": OnlineEWC,
    "rwalk": RWalk,
    "si": SI,
    "mas": MAS,
    "lwf": LwF,
    "amnesiacFinetuning": AmnesiacFinetuning,
    "amnesiacEwc": AmnesiacEWC,
    "amnesiacLwf": AmnesiacLwF,
    "amnesiacSi": AmnesiacSI,
}
