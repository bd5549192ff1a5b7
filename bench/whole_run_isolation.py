"""Algorithms of the whole-run benchmark's PyTorch side (bench/whole_run_torch.py):
the isolation group, each a subclass of whole_run_torch.Algorithm written from
docs/algorithms/ and algorithms-next.md at our defaults. The steps they share
with the two-task scripts (the WSN gate, HAT's masks and conditioning, CBP's
replacement) are those scripts' functions."""
import torch
import torch.nn.functional as F

import cbp_torch
import hat_torch
import wsn_torch
from fashion_mnist_torch import scale_gradients
from whole_run_torch import LR, Algorithm

# WSN has no default mask fraction; bench/whole_run.ts gives both sides this one.
WSN_FRACTION = 0.1
# AdaHAT's defaults (its c, alpha and epsilon; the rest are HAT's).
ADAHAT_C, ADAHAT_ALPHA, ADAHAT_EPSILON = 0.1, 1e-6, 0.1
# PackNet's defaults: the fraction of a task's weights pruned per layer, the
# epochs after the prune, and the learning rate's scale for them.
PACKNET_PRUNE, PACKNET_RETRAIN_EPOCHS, PACKNET_RETRAIN_LR_SCALE = 0.5, 1, 0.1
# CBP's default replacement rate (maturity 100 and decay 0.99 are cbp_torch's).
CBP_RHO = 1e-4


class WSN(Algorithm):
    """One set of scores for all tasks; training runs on the weights times the
    straight-through top-c gate, the weights earlier tasks' masks use get no
    gradient, and each task is tested with the mask stored at its end."""

    def __init__(self, run):
        super().__init__(run)
        self.scores = None
        self.task_masks = []
        self.cumulative = None
        self.free = []

    def extra_parameters(self, task):
        if self.scores is None:
            self.scores = wsn_torch.new_scores(self.run.layers)
        return self.scores

    def forward(self, x, task, batch=None, batches=None):
        if batch is None:
            masks = self.task_masks[task - 1]
        else:
            masks = [wsn_torch.straight_through(s, WSN_FRACTION) for s in self.scores]
        return self.run.heads[task - 1](wsn_torch.masked_features(self.run.layers, x, masks))

    def after_backward(self, task):
        scale_gradients(self.run.backbone_parameters(), self.free)

    def task_end(self, task, x, y):
        mask, self.cumulative, self.free = wsn_torch.store_mask(self.scores, WSN_FRACTION, self.cumulative)
        self.task_masks.append(mask)


class HAT(Algorithm):
    """Per task a unit embedding per layer, gates sigmoid(s e) annealed per batch,
    CE + c R, the weights' gradients conditioned by a<, the embeddings' compensated,
    the embeddings clamped and (exact protection) the weights earlier tasks' binary
    masks use put back after every step; each task tested with 1[e > 0]."""

    c = hat_torch.C

    def __init__(self, run):
        super().__init__(run)
        self.cumulative = None
        self.stored = []

    def extra_parameters(self, task):
        self.embeddings = hat_torch.new_embeddings(self.run.layers)
        return self.embeddings

    def task_start(self, task, x, y):
        self.free, self.free_total = hat_torch.free_capacity(self.run.layers, self.cumulative)
        self.prepare()

    def prepare(self):
        self.factors = hat_torch.conditioning(self.run.layers, self.cumulative)
        self.frozen = hat_torch.frozen_weights(self.run.layers, self.cumulative)

    def forward(self, x, task, batch=None, batches=None):
        if batch is None:
            masks = [(e > 0).float() for e in self.stored[task - 1]]
        else:
            self.s = hat_torch.annealed_scale(batch, batches)
            self.masks = masks = [torch.sigmoid(self.s * e) for e in self.embeddings]
        return self.run.heads[task - 1](hat_torch.gated_features(self.run.layers, x, masks))

    def loss(self, task, x, y, logits):
        loss = F.cross_entropy(logits, y)
        if self.free_total == 0:
            return loss
        return loss + self.c * hat_torch.regulariser(self.masks, self.free, self.free_total)

    def after_backward(self, task):
        self.adjust_gradients()
        hat_torch.compensate(self.embeddings, self.s)

    def adjust_gradients(self):
        scale_gradients(self.run.backbone_parameters(), self.factors)

    def after_step(self, task, x, y, logits):
        hat_torch.clamp_embeddings(self.embeddings)
        hat_torch.restore(self.frozen)

    def task_end(self, task, x, y):
        self.stored.append([e.detach().clone() for e in self.embeddings])
        self.cumulative = hat_torch.accumulate(self.cumulative, self.embeddings)


class AdaHAT(HAT):
    """HAT with its own c and, instead of HAT's factor and exact protection, the
    rate r / (I + r) on the weights' gradients: I = min(m_i, m_j) of the summed
    binary masks m of the earlier tasks (first layer and biases: m_i), and
    r = alpha / (epsilon + R_l) from this step's gates of the layer."""

    c = ADAHAT_C

    def __init__(self, run):
        super().__init__(run)
        self.summative = None

    @torch.no_grad()
    def prepare(self):
        self.frozen = []
        self.free_sums = [float(f.sum()) for f in self.free]
        self.importance = []
        if self.summative is None:
            return
        for i in range(len(self.run.layers)):
            self.importance += [hat_torch.pairwise(self.summative, i, torch.minimum), self.summative[i]]

    @torch.no_grad()
    def adjust_gradients(self):
        if not self.importance:
            return
        weights = self.run.backbone_parameters()
        for i, (a, free, free_sum) in enumerate(zip(self.masks, self.free, self.free_sums)):
            sparsity = (a * free).sum() / free_sum if free_sum > 0 else torch.zeros(())
            r = ADAHAT_ALPHA / (ADAHAT_EPSILON + sparsity)
            for p, importance in zip(weights[2 * i:2 * i + 2], self.importance[2 * i:2 * i + 2]):
                p.grad.mul_(r / (importance + r))

    def task_end(self, task, x, y):
        super().task_end(task, x, y)
        masks = [(e > 0).float() for e in self.stored[-1]]
        self.summative = masks if self.summative is None else [m + n for m, n in zip(self.summative, masks)]


class PackNet(Algorithm):
    """Every weight owned by at most one task: a task takes the free weights,
    trains them, prunes the smallest half of them by magnitude at the start of
    its last epoch and retrains the rest with a fresh optimizer at a tenth of the
    learning rate. The weights it does not own (and from task 2 on the biases)
    get no gradient and are put back after every step; task j is tested on the
    weights of tasks 1..j."""

    def __init__(self, run):
        super().__init__(run)
        if run.epochs <= PACKNET_RETRAIN_EPOCHS:
            raise SystemExit(f"packnet: {run.epochs} epochs leave none to train before the prune")
        self.owners = [torch.zeros_like(layer.weight, dtype=torch.uint8) for layer in run.layers]

    def task_start(self, task, x, y):
        with torch.no_grad():
            for owner in self.owners:
                owner.masked_fill_(owner == 0, task)
        self.protect(task)

    @torch.no_grad()
    def protect(self, task):
        """The gradient factors 1[owner = task], and the values to put back: the other
        weights, and from task 2 on the biases."""
        layers = self.run.layers
        self.trainable = [(owner == task).float() for owner in self.owners]
        self.frozen = [(layer.weight, owner != task, layer.weight.clone()) for layer, owner in zip(layers, self.owners)]
        self.biases = [(layer.bias, layer.bias.clone()) for layer in layers] if task > 1 else []

    def epoch_start(self, task, epoch):
        if epoch != self.run.epochs - PACKNET_RETRAIN_EPOCHS + 1:
            return
        with torch.no_grad():
            for layer, owner in zip(self.run.layers, self.owners):
                owned = owner == task
                k = round(PACKNET_PRUNE * int(owned.sum()))
                if k == 0:
                    continue
                magnitude = layer.weight.abs()
                cutoff = magnitude[owned].kthvalue(k).values
                remove = (magnitude <= cutoff) & owned
                layer.weight.masked_fill_(remove, 0)
                owner.masked_fill_(remove, 0)
        params = [p for group in self.run.optimizer.param_groups for p in group["params"]]
        self.run.optimizer = self.run.new_optimizer(params, lr=LR * PACKNET_RETRAIN_LR_SCALE)
        self.protect(task)

    @torch.no_grad()
    def after_backward(self, task):
        for layer, trainable in zip(self.run.layers, self.trainable):
            layer.weight.grad.mul_(trainable)
        for bias, _ in self.biases:
            bias.grad.zero_()

    @torch.no_grad()
    def after_step(self, task, x, y, logits):
        hat_torch.restore(self.frozen)
        for bias, snapshot in self.biases:
            bias.copy_(snapshot)

    def forward(self, x, task, batch=None, batches=None):
        if batch is not None:
            return super().forward(x, task)
        h = x
        for layer, owner in zip(self.run.layers, self.owners):
            visible = ((owner >= 1) & (owner <= task)).float()
            h = torch.relu(F.linear(h, layer.weight * visible, layer.bias))
        return self.run.heads[task - 1](h)


class CBP(Algorithm):
    """Plain training, and after every step cbp_torch's replacement of the
    least useful mature units (the last layer's outgoing weights are every
    head's columns)."""

    def __init__(self, run):
        super().__init__(run)
        self.cbp = cbp_torch.CBP(run.layers, run.heads, CBP_RHO)

    def forward(self, x, task, batch=None, batches=None):
        if batch is None:
            return super().forward(x, task)
        h, self.acts = x, []
        for layer in self.run.layers:
            h = torch.relu(layer(h))
            self.acts.append(h)
        return self.run.heads[task - 1](h)

    def after_step(self, task, x, y, logits):
        self.cbp.step(self.acts)


ALGORITHMS = {"wsn": WSN, "hat": HAT, "adahat": AdaHAT, "packnet": PackNet, "cbp": CBP}
