"""More networks written by hand for scripts/make_onnx_handwritten_fixtures.py (MODULES in handwritten_modules.py
lists them): modules applied at several places that are not convs or Linears, and adaptive pooling to sizes that
do not divide the input."""

import torch
import torch.nn.functional as F
from torch import nn


class SharedNorms(nn.Module):
    """one norm, activation or parameter used at several places, as people write it when they keep one attribute
    for it: one nn.PReLU(c) after two convs (SRResNet-style code), one
    nn.LayerNorm(c) before both the attention and the MLP of a transformer block, one learned position embedding
    added before and after it."""

    def __init__(self, c=16, heads=2, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, c, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.act = nn.PReLU(c)
        self.norm = nn.LayerNorm(c)
        self.pos = nn.Parameter(torch.zeros(1, 64, c))
        self.heads = heads
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.mlp = nn.Sequential(nn.Linear(c, 2 * c), nn.GELU(), nn.Linear(2 * c, c))
        self.head = nn.Linear(c, classes)

    def forward(self, x):
        x = self.act(self.conv1(x))
        x = self.act(self.conv2(x))
        x = F.adaptive_avg_pool2d(x, 8)
        t = x.flatten(2).transpose(1, 2) + self.pos
        n, length, c = t.shape
        q, k, v = self.qkv(self.norm(t)).reshape(n, length, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5).softmax(-1)
        t = t + self.proj((a @ v).transpose(1, 2).reshape(n, length, c))
        t = t + self.mlp(self.norm(t)) + self.pos
        return self.head(t.mean(dim=1))


class UnevenPooling(nn.Module):
    """adaptive average pooling to output sizes that do not divide the input (torchvision's AlexNet and VGG pool to
    6 x 6 and 7 x 7 whatever the input; here 16 x 16 to 5 x 5 and to 3 x 7): bins of unequal sizes that overlap,
    then a classifier on the flattened bins. The TorchScript exporter refuses it; the dynamo exporter writes the
    bins as index arithmetic, gathers and adds. (Adaptive max pooling to such sizes neither exporter takes.)"""

    def __init__(self, c=8, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, c, 3, stride=2, padding=1)
        self.fc = nn.Linear(c * 5 * 5 + c * 3 * 7, classes)

    def forward(self, x):
        x = F.relu(self.conv(x))
        a = F.adaptive_avg_pool2d(x, 5)
        m = F.adaptive_avg_pool2d(x, (3, 7))
        return self.fc(torch.cat([a.flatten(1), m.flatten(1)], dim=1))
