"""Optional check of the ONNX importer on real exports: torchvision's classification architectures, written here
in plain torch (torchvision has no CPU build on this machine), exported with torch.onnx.export at opset 17, read by
costcalc. For each model it prints costcalc's parameters and FLOPs next to three independent figures:

- torch: the model's own parameter count (sum of numel) and conv + fc multiply-adds counted by forward hooks;
- torchvision: the published `num_params` and `_ops` (GFLOPS, rounded to 3 decimals) of the weights' metadata;
and checks that the spec `costcalc import` writes for each file gives the same totals as the file, and, for the
models with a spec under specs/, that every total (element-wise FLOPs, memory access, activations too) is the spec's.

Needs torch (last run with 2.14.1: all ten agree) and the onnx extra; `--exporter dynamo` also needs onnxscript.
Not part of the test suite: run it by hand.

    python scripts/onnx_torchvision_check.py [--exporter torchscript|dynamo] [--resolutions 160,320] [--keep DIR]
                                             [MODEL ...]

The TorchScript exporter folds batchnorm into the preceding conv when constant folding is on (the file then has
fewer parameters than the model); this script exports with do_constant_folding=False, which keeps them apart.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import warnings

import torch
from torch import nn

SPECS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "specs")

# torchvision's published figures: weights metadata `num_params` and `_ops` (GFLOPS, conv + fc multiply-adds)
PUBLISHED = {
    "resnet50": (25_557_032, 4.089),
    "resnext50_32x4d": (25_028_904, 4.23),
    "mobilenet_v2": (3_504_872, 0.301),
    "shufflenet_v2_x1_0": (2_278_604, 0.145),
    "densenet121": (7_978_856, 2.834),
    "squeezenet1_1": (1_235_496, 0.349),
    "efficientnet_b0": (5_288_548, 0.386),
    "googlenet": (6_624_904, 1.498),
    "mnasnet1_0": (4_383_312, 0.314),
    "regnet_y_400mf": (4_344_144, 0.402),
}


def conv_bn(cin, cout, k=1, stride=1, groups=1, act=nn.ReLU, eps=1e-5):
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout, eps=eps)]
    return nn.Sequential(*layers, *([act()] if act else []))


# ---- ResNet-50 / ResNeXt-50 (torchvision's Bottleneck: stride on the 3x3 conv) ----------------------------------


class Bottleneck(nn.Module):
    def __init__(self, cin, planes, stride, groups, width_per_group):
        super().__init__()
        width = planes * width_per_group // 64 * groups
        self.body = nn.Sequential(conv_bn(cin, width), conv_bn(width, width, 3, stride, groups),
                                  conv_bn(width, planes * 4, act=None))
        self.down = conv_bn(cin, planes * 4, 1, stride, act=None) if stride != 1 or cin != planes * 4 else None
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.body(x) + (self.down(x) if self.down is not None else x))


def resnet50(groups=1, width_per_group=64):
    layers, cin = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)], 64
    for planes, depth, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(depth):
            layers.append(Bottleneck(cin, planes, stride if i == 0 else 1, groups, width_per_group))
            cin = planes * 4
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000))


# ---- ShuffleNet V2 1.0x ----------------------------------------------------------------------------------------


def channel_shuffle(x, groups):
    n, c, h, w = x.size()
    x = x.view(n, groups, c // groups, h, w)
    return torch.transpose(x, 1, 2).contiguous().view(n, -1, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        half = cout // 2
        self.stride = stride
        if stride > 1:
            self.branch1 = nn.Sequential(conv_bn(cin, cin, 3, stride, cin, act=None), conv_bn(cin, half))
        self.branch2 = nn.Sequential(conv_bn(cin if stride > 1 else half, half),
                                     conv_bn(half, half, 3, stride, half, act=None), conv_bn(half, half))

    def forward(self, x):
        if self.stride == 1:
            a, b = x.chunk(2, dim=1)
            out = torch.cat((a, self.branch2(b)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        channels, repeats = [24, 116, 232, 464, 1024], [4, 8, 4]
        layers = [conv_bn(3, 24, 3, 2), nn.MaxPool2d(3, 2, 1)]
        for cin, cout, n in zip(channels, channels[1:], repeats):
            layers += [ShuffleUnit(cin, cout, 2)] + [ShuffleUnit(cout, cout, 1) for _ in range(n - 1)]
        self.features = nn.Sequential(*layers, conv_bn(464, 1024))
        self.fc = nn.Linear(1024, 1000)

    def forward(self, x):
        return self.fc(self.features(x).mean([2, 3]))


# ---- MobileNet V2 -----------------------------------------------------------------------------------------------


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand, k=3, act=nn.ReLU6):
        super().__init__()
        mid = cin * expand
        layers = [conv_bn(cin, mid, act=act)] if expand != 1 else []
        layers += [conv_bn(mid, mid, k, stride, mid, act=act), conv_bn(mid, cout, act=None)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


def mobilenet_v2():
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1)]
    layers, cin = [conv_bn(3, 32, 3, 2, act=nn.ReLU6)], 32
    for t, c, n, s in settings:
        for i in range(n):
            layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
            cin = c
    layers += [conv_bn(320, 1280, act=nn.ReLU6), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
               nn.Linear(1280, 1000)]
    return nn.Sequential(*layers)


# ---- MNASNet 1.0 ------------------------------------------------------------------------------------------------


class MNASNet(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [conv_bn(3, 32, 3, 2), conv_bn(32, 32, 3, 1, 32), conv_bn(32, 16, act=None)]
        cin = 16
        for cout, k, stride, expand, repeats in ((24, 3, 2, 3, 3), (40, 5, 2, 3, 3), (80, 5, 2, 6, 3),
                                                 (96, 3, 1, 6, 2), (192, 5, 2, 6, 4), (320, 3, 1, 6, 1)):
            for i in range(repeats):
                layers.append(InvertedResidual(cin, cout, stride if i == 0 else 1, expand, k, nn.ReLU))
                cin = cout
        self.layers = nn.Sequential(*layers, conv_bn(320, 1280))
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

    def forward(self, x):
        return self.classifier(self.layers(x).mean([2, 3]))


# ---- EfficientNet-B0 (MBConv with squeeze-and-excitation, SiLU) ------------------------------------------------


class SqueezeExcitation(nn.Module):
    def __init__(self, channels, squeeze, act=nn.SiLU):
        super().__init__()
        self.fc1, self.fc2, self.act = nn.Conv2d(channels, squeeze, 1), nn.Conv2d(squeeze, channels, 1), act()

    def forward(self, x):
        s = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(self.act(self.fc1(s))))


class MBConv(nn.Module):
    def __init__(self, cin, cout, k, stride, expand):
        super().__init__()
        mid = cin * expand
        layers = [conv_bn(cin, mid, act=nn.SiLU)] if expand != 1 else []
        layers += [conv_bn(mid, mid, k, stride, mid, act=nn.SiLU), SqueezeExcitation(mid, max(1, cin // 4)),
                   conv_bn(mid, cout, act=None)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


def efficientnet_b0():
    layers, cin = [conv_bn(3, 32, 3, 2, act=nn.SiLU)], 32
    for expand, k, stride, cout, n in ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                                       (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)):
        for i in range(n):
            layers.append(MBConv(cin, cout, k, stride if i == 0 else 1, expand))
            cin = cout
    layers += [conv_bn(320, 1280, act=nn.SiLU), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
               nn.Linear(1280, 1000)]
    return nn.Sequential(*layers)


# ---- RegNetY-400MF (depths 1, 3, 6, 6; widths 48, 104, 208, 440; group width 8; SE ratio 0.25) -----------------


class RegNetBlock(nn.Module):
    def __init__(self, cin, cout, stride, group_width=8, se_ratio=0.25):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(cin, cout), conv_bn(cout, cout, 3, stride, cout // group_width),
            SqueezeExcitation(cout, int(round(se_ratio * cin)), nn.ReLU), conv_bn(cout, cout, act=None))
        self.proj = conv_bn(cin, cout, 1, stride, act=None) if cin != cout or stride != 1 else None
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu((self.proj(x) if self.proj is not None else x) + self.body(x))


def regnet_y_400mf():
    layers, cin = [conv_bn(3, 32, 3, 2)], 32
    for width, depth in zip((48, 104, 208, 440), (1, 3, 6, 6)):
        for i in range(depth):
            layers.append(RegNetBlock(cin, width, 2 if i == 0 else 1))
            cin = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(440, 1000))


# ---- SqueezeNet 1.1 ---------------------------------------------------------------------------------------------


class Fire(nn.Module):
    def __init__(self, cin, squeeze, expand1, expand3):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(cin, squeeze, 1), nn.ReLU())
        self.expand1 = nn.Sequential(nn.Conv2d(squeeze, expand1, 1), nn.ReLU())
        self.expand3 = nn.Sequential(nn.Conv2d(squeeze, expand3, 3, padding=1), nn.ReLU())

    def forward(self, x):
        x = self.squeeze(x)
        return torch.cat([self.expand1(x), self.expand3(x)], 1)


def squeezenet1_1():
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, 2), nn.ReLU(), pool(), Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
        Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
        Fire(384, 64, 256, 256), Fire(512, 64, 256, 256),
        nn.Dropout(0.5), nn.Conv2d(512, 1000, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


# ---- GoogLeNet (eval: no auxiliary classifiers; torchvision's 3x3 conv in the "5x5" branch) ---------------------


class Inception(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pool_proj):
        super().__init__()
        bc = lambda a, b, k=1: conv_bn(a, b, k, eps=0.001)  # noqa: E731
        self.b1 = bc(cin, c1)
        self.b2 = nn.Sequential(bc(cin, c3r), bc(c3r, c3, 3))
        self.b3 = nn.Sequential(bc(cin, c5r), bc(c5r, c5, 3))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), bc(cin, pool_proj))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


def googlenet():
    pool = lambda k=3: nn.MaxPool2d(k, 2, ceil_mode=True)  # noqa: E731
    return nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64, eps=0.001), nn.ReLU(), pool(),
        conv_bn(64, 64, eps=0.001), conv_bn(64, 192, 3, eps=0.001), pool(),
        Inception(192, 64, 96, 128, 16, 32, 32), Inception(256, 128, 128, 192, 32, 96, 64), pool(),
        Inception(480, 192, 96, 208, 16, 48, 64), Inception(512, 160, 112, 224, 24, 64, 64),
        Inception(512, 128, 128, 256, 24, 64, 64), Inception(512, 112, 144, 288, 32, 64, 64),
        Inception(528, 256, 160, 320, 32, 128, 128), pool(2),
        Inception(832, 256, 160, 320, 32, 128, 128), Inception(832, 384, 192, 384, 48, 128, 128),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(1024, 1000))


# ---- DenseNet-121 -----------------------------------------------------------------------------------------------


class DenseLayer(nn.Module):
    def __init__(self, cin, growth=32, bn_size=4):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, bn_size * growth, 1, bias=False),
                                  nn.BatchNorm2d(bn_size * growth), nn.ReLU(),
                                  nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False))

    def forward(self, x):
        return torch.cat([x, self.body(x)], 1)


def densenet121():
    layers, c = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)], 64
    for i, n in enumerate((6, 12, 24, 16)):
        for _ in range(n):
            layers.append(DenseLayer(c))
            c += 32
        if i != 3:
            layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c // 2, 1, bias=False), nn.AvgPool2d(2, 2)]
            c //= 2
    return nn.Sequential(*layers, nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(c, 1000))


MODELS = {
    "resnet50": resnet50,
    "resnext50_32x4d": lambda: resnet50(32, 4),
    "mobilenet_v2": mobilenet_v2,
    "shufflenet_v2_x1_0": ShuffleNetV2,
    "densenet121": densenet121,
    "squeezenet1_1": squeezenet1_1,
    "efficientnet_b0": efficientnet_b0,
    "googlenet": googlenet,
    "mnasnet1_0": MNASNet,
    "regnet_y_400mf": regnet_y_400mf,
}


def torch_counts(model, x):
    """Parameters (numel) and conv + fc multiply-adds counted by forward hooks: independent of costcalc."""
    flops = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            flops.append(output.numel() * kh * kw * module.in_channels // module.groups)
        else:
            flops.append(module.in_features * module.out_features * output.shape[0])

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return sum(p.numel() for p in model.parameters()), sum(flops)


def export(model, x, path, exporter, dynamic=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            torch.onnx.export(model, (x,), path, opset_version=17, dynamo=True, optimize=False, verbose=False)
        else:
            axes = {"x": {0: "N", 2: "H", 3: "W"}} if dynamic else None
            torch.onnx.export(model, (x,), path, opset_version=17, dynamo=False, do_constant_folding=False,
                              input_names=["x"], dynamic_axes=axes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=list(MODELS), metavar="MODEL", help=", ".join(MODELS))
    parser.add_argument("--exporter", choices=["torchscript", "dynamo"], default="torchscript")
    parser.add_argument("--keep", metavar="DIR", help="keep the exported .onnx files in DIR")
    parser.add_argument("--resolutions", metavar="R,R", default="",
                        help="also export with a dynamic H x W (torchscript) and check FLOPs and params at these "
                             "input sizes (costcalc report --input 3xRxR) against torch's forward hooks")
    args = parser.parse_args()
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model {unknown[0]!r} (models: {', '.join(MODELS)})")

    from costcalc.analysis import analyse
    from costcalc.errors import CostcalcError
    from costcalc.graph import load
    from costcalc.importers.onnx import to_yaml

    torch.manual_seed(0)
    directory = args.keep or tempfile.mkdtemp(prefix="costcalc-onnx-")
    os.makedirs(directory, exist_ok=True)
    x = torch.zeros(1, 3, 224, 224)
    header = (f"{'model':20} {'costcalc params':>15} {'torch':>11} {'torchvision':>11}   "
              f"{'costcalc FLOPs':>14} {'torch hooks':>14} {'tv GFLOPS':>9}  opset  result")
    print(f"exporter: {args.exporter}, opset_version=17 asked, input 1x3x224x224, torch {torch.__version__}")
    print(header)
    failures = 0
    for name in args.models:
        model = MODELS[name]().eval()
        params, flops = torch_counts(model, x)
        path = os.path.join(directory, f"{name}.onnx")
        export(model, x, path, args.exporter)
        try:
            totals = analyse(load(path)).totals
        except CostcalcError as e:
            print(f"{name:20} error: {e}")
            failures += 1
            continue
        import onnx

        opset = next(o.version for o in onnx.load(path, load_external_data=False).opset_import if o.domain in ("", "ai.onnx"))
        tv_params, tv_gflops = PUBLISHED[name]
        digits = len(str(tv_gflops).split(".")[1])
        spec_path = os.path.join(directory, f"{name}.yaml")
        with open(spec_path, "w") as f:
            f.write(to_yaml(path))
        checks = {
            "import=same": analyse(load(spec_path)).totals == totals,  # `costcalc import` writes the same totals
            "params=torch": totals.params == params,
            "params=torchvision": totals.params == tv_params,
            "flops=torch": totals.flops == flops,
            "GFLOPS=torchvision": math.isclose(round(totals.flops / 1e9, digits), tv_gflops),
        }
        shipped = os.path.join(SPECS, f"{name}.yaml")
        if os.path.exists(shipped):  # costcalc's own spec of the model: every total, MAC included, must agree
            checks["totals=specs/"] = analyse(load(shipped)).totals == totals
        ok = all(checks.values())
        failures += not ok
        result = ("ok" if ok else "MISMATCH " + ", ".join(k for k, v in checks.items() if not v)) + f" ({len(checks)} checks)"
        print(f"{name:20} {totals.params:>15,} {params:>11,} {tv_params:>11,}   {totals.flops:>14,} {flops:>14,} "
              f"{tv_gflops:>9}  {opset:>5}  {result}")
    sizes = [int(r) for r in args.resolutions.split(",") if r]
    if sizes:
        print("\ndynamic H x W exports (torchscript), costcalc --input 3xRxR against torch's hooks at R x R")
    for name in args.models if sizes else []:
        model = MODELS[name]().eval()
        path = os.path.join(directory, f"{name}_dynamic.onnx")
        export(model, x, path, "torchscript", dynamic=True)
        for r in sizes:
            params, flops = torch_counts(model, torch.zeros(1, 3, r, r))
            try:
                totals = analyse(load(path, input_shape=(3, r, r))).totals
            except CostcalcError as e:
                print(f"{name:20} {r:>4}  error: {e}")
                failures += 1
                continue
            ok = (totals.params, totals.flops) == (params, flops)
            failures += not ok
            print(f"{name:20} {r:>4}  params {totals.params:>11,} / {params:>11,}  FLOPs {totals.flops:>14,} / "
                  f"{flops:>14,}  {'ok' if ok else 'MISMATCH'}")
    if args.keep:
        print(f"exports kept in {directory}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
