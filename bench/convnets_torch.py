"""PyTorch side of the conv-net benchmark (bench/convnets.ts runs it).

Builds our CNN backbone (defaults for 3x32x32 inputs) or ResNet-18 (CIFAR
stem) in plain torch.nn, with the same modules in the same order and the same
initialisation, adds a 10-class linear head, and times training steps on one
random batch of 32: cross-entropy, SGD lr 0.01 momentum 0.9, gradients set to
None. Prints one JSON line: steps per second (by the clock and by CPU time),
minor page faults per step, the time of each phase of a step, the parameter
count and the first step's loss.

Usage: convnets_torch.py cnn|resnet18 STEPS WARMUP THREADS
"""
import json
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

BATCH = 32
CLASSES = 10


class CNN(nn.Module):
    """conv(3x3, 'same') -> ReLU -> 2x2 max-pool for 32 then 64 channels, then fc1 (128) -> ReLU."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 8 * 8, 128)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.fc1(x.flatten(1)))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a residual connection."""

    def __init__(self, in_planes, planes, stride, downsample):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet18(nn.Module):
    """3x3 stride-1 stem without max-pool, four stages of two blocks, global average pooling to 512."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        in_planes = 64
        stages = []
        for s, planes in enumerate([64, 128, 256, 512]):
            blocks = []
            for b in range(2):
                stride = 2 if s > 0 and b == 0 else 1
                downsample = None
                if stride != 1 or in_planes != planes:
                    # Built before its block: the order of the initialisation draws.
                    downsample = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))
                blocks.append(BasicBlock(in_planes, planes, stride, downsample))
                in_planes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


def run(name, steps, warmup):
    torch.manual_seed(0)
    backbone = CNN() if name == "cnn" else ResNet18()
    head = nn.Linear(128 if name == "cnn" else 512, CLASSES)
    params = list(backbone.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    x = torch.randn(BATCH, 3, 32, 32)
    y = torch.randint(0, CLASSES, (BATCH,))
    phases = {"forward": 0.0, "backward": 0.0, "optimizer": 0.0}

    def step():
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(head(backbone(x)), y)
        phases["forward"] += time.perf_counter() - t
        t = time.perf_counter()
        loss.backward()
        phases["backward"] += time.perf_counter() - t
        t = time.perf_counter()
        opt.step()
        phases["optimizer"] += time.perf_counter() - t
        return loss.item()

    first_loss = step()
    for _ in range(1, warmup):
        step()
    phases = dict.fromkeys(phases, 0.0)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "stepsPerSec": steps / total,
        "stepsPerCpuSec": steps / cpu,
        "seconds": total,
        "pageFaultsPerStep": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps,
        "forwardMs": phases["forward"] / steps * 1e3,
        "backwardMs": phases["backward"] / steps * 1e3,
        "optimizerMs": phases["optimizer"] / steps * 1e3,
        "otherMs": (total - sum(phases.values())) / steps * 1e3,
        "parameters": sum(p.numel() for p in params),
        "firstLoss": first_loss,
    }


def main():
    name, steps, warmup, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    print(json.dumps(run(name, steps, warmup)))


if __name__ == "__main__":
    main()
