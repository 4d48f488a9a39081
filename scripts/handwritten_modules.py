"""The small networks written by hand for scripts/make_onnx_handwritten_fixtures.py: each the way people write such
a network, each class's docstring saying what it uses. MODULES maps a fixture name to the class and its input
size (3 x SIZE x SIZE)."""

import torch
import torch.nn.functional as F
from torch import nn

from handwritten_reuse import SharedNorms, UnevenPooling  # noqa: E402  (scripts/ is the path)


def hardswish(x):
    return x * F.relu6(x + 3) / 6


class SqueezeExcite(nn.Module):
    """conv-bn-hardswish (the formula), squeeze-excite through Linear layers and `fc(y).view(n, c, 1, 1)`, conv,
    global pooling by mean over H, W, classifier."""

    def __init__(self, c=16, reduction=4, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, c, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.fc1 = nn.Linear(c, c // reduction)
        self.fc2 = nn.Linear(c // reduction, c)
        self.conv2 = nn.Conv2d(c, 2 * c, 3, padding=1)
        self.head = nn.Linear(2 * c, classes)

    def forward(self, x):
        x = hardswish(self.bn1(self.conv1(x)))
        n, c, _, _ = x.shape
        y = x.mean((2, 3))
        y = torch.sigmoid(self.fc2(F.relu(self.fc1(y)))).view(n, c, 1, 1)
        x = hardswish(self.conv2(x * y))
        return self.head(x.mean(dim=(2, 3)))


class FunctionalConv(nn.Module):
    """weights held as plain Parameters: a 1x1 conv by `w[:, :, None, None]`, a depthwise conv by F.conv2d with
    groups, a bias added by `b[None, :, None, None]`, a per-channel scale by `unsqueeze`, flatten by `x.view(n, -1)`."""

    def __init__(self, c=12):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.pw = nn.Parameter(torch.randn(2 * c, c))
        self.pw_bias = nn.Parameter(torch.randn(2 * c))
        self.dw = nn.Parameter(torch.randn(2 * c, 1, 3, 3))
        self.scale = nn.Parameter(torch.randn(2 * c))
        self.fc = nn.Linear(2 * c * 4 * 4, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.conv2d(x, self.pw[:, :, None, None]) + self.pw_bias[None, :, None, None]
        x = F.conv2d(x, self.dw, stride=2, padding=1, groups=self.dw.shape[0])
        x = x * self.scale.unsqueeze(-1).unsqueeze(-1)
        x = F.adaptive_avg_pool2d(x, 4)
        return self.fc(x.view(x.shape[0], -1))


class ChannelShuffle(nn.Module):
    """ShuffleNet V2 units written by hand: the channels split by slicing (and by `chunk`), one half through
    1x1 - depthwise 3x3 - 1x1 convs with batchnorm, concatenated, shuffled by reshape / permute / reshape."""

    def __init__(self, c=24):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, stride=2, padding=1, bias=False)
        h = c // 2
        self.branches = nn.ModuleList(nn.Sequential(
            nn.Conv2d(h, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU(),
            nn.Conv2d(h, h, 3, padding=1, groups=h, bias=False), nn.BatchNorm2d(h),
            nn.Conv2d(h, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU()) for _ in range(2))

    @staticmethod
    def shuffle(x, groups=2):
        n, c, h, w = x.shape
        return x.reshape(n, groups, c // groups, h, w).permute(0, 2, 1, 3, 4).reshape(n, c, h, w)

    def forward(self, x):
        x = self.stem(x)
        c = x.shape[1] // 2
        x = self.shuffle(torch.cat([x[:, :c], self.branches[0](x[:, c:])], dim=1))
        a, b = x.chunk(2, dim=1)
        x = self.shuffle(torch.cat([a, self.branches[1](b)], dim=1))
        return x.transpose(2, 3).flatten(1).sum(-1, keepdim=True)


class EinsumAttention(nn.Module):
    """tokens from a strided conv, one head of attention written with einsum (one qkv Linear, unbind), softmax,
    LayerNorm on the tokens' last axis, an einsum across channels back to N C H W."""

    def __init__(self, c=32):
        super().__init__()
        self.embed = nn.Conv2d(3, c, 4, stride=4)
        self.norm = nn.LayerNorm(c)
        self.qkv = nn.Linear(c, 3 * c)
        self.mix = nn.Parameter(torch.randn(c, c))
        self.scale = c ** -0.5

    def forward(self, x):
        x = self.embed(x)
        n, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        q, k, v = self.qkv(self.norm(t)).reshape(n, h * w, 3, c).unbind(2)
        a = torch.einsum("bnd,bmd->bnm", q, k) * self.scale
        t = t + torch.einsum("bnm,bmd->bnd", a.softmax(dim=-1), v)
        y = torch.einsum("bchw,dc->bdhw", t.transpose(1, 2).reshape(n, c, h, w), self.mix)
        return y


class MultiHeadSelfAttention(nn.Module):
    """a ViT block over H x W tokens written out: q, k, v Linear, reshape / transpose to heads,
    softmax(q @ k.transpose(-2, -1) * scale) @ v, the heads merged, projection, LayerNorm, MLP with GELU, class
    token, position embedding, mean of the tokens."""

    def __init__(self, c=48, heads=4, patch=8, size=32):
        super().__init__()
        self.heads, self.scale = heads, (c // heads) ** -0.5
        self.embed = nn.Conv2d(3, c, patch, stride=patch)
        self.cls = nn.Parameter(torch.randn(1, 1, c))
        self.pos = nn.Parameter(torch.randn(1, (size // patch) ** 2 + 1, c))
        self.norm1 = nn.LayerNorm(c)
        self.q, self.k, self.v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.proj = nn.Linear(c, c)
        self.norm2 = nn.LayerNorm(c)
        self.mlp = nn.Sequential(nn.Linear(c, 2 * c), nn.GELU(), nn.Linear(2 * c, c))
        self.head = nn.Linear(c, 10)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2)
        n, t, c = x.shape
        x = torch.cat([self.cls.expand(n, -1, -1), x], dim=1) + self.pos
        y = self.norm1(x)
        q, k, v = (f(y).reshape(n, t + 1, self.heads, c // self.heads).transpose(1, 2) for f in (self.q, self.k, self.v))
        a = torch.softmax(q @ k.transpose(-2, -1) * self.scale, dim=-1)
        x = x + self.proj((a @ v).transpose(1, 2).reshape(n, t + 1, c))
        x = x + self.mlp(self.norm2(x))
        return self.head(x.mean(1))


class UpsampleDecoder(nn.Module):
    """an encoder-decoder: strided convs down, ConvTranspose2d up, F.interpolate in its modes (nearest by scale,
    bilinear with and without align_corners, bicubic to a size), skip connections concatenated."""

    def __init__(self, c=8):
        super().__init__()
        self.down1 = nn.Conv2d(3, c, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1)
        self.fuse = nn.Conv2d(2 * c, c, 3, padding=1)
        self.out = nn.Conv2d(c + 3, 2, 1)

    def forward(self, x):
        d1 = F.relu(self.down1(x))
        d2 = F.relu(self.down2(d1))
        u = self.up(d2) + F.interpolate(d2[:, :d1.shape[1]], scale_factor=2, mode="nearest")
        u = F.relu(self.fuse(torch.cat([u, F.interpolate(d1, scale_factor=1.0, mode="bilinear")], 1)))
        u = F.interpolate(u, scale_factor=2, mode="bilinear", align_corners=True)
        u = u + F.interpolate(d2[:, :u.shape[1]], size=x.shape[-2:], mode="bicubic", align_corners=False)
        return self.out(torch.cat([u, x], 1))


class NearestExact(nn.Module):
    """F.interpolate's nearest-exact mode, down and up (the TorchScript exporter refuses it), and area mode."""

    def __init__(self, c=4):
        super().__init__()
        self.conv = nn.Conv2d(3, c, 3, padding=1)

    def forward(self, x):
        y = F.interpolate(self.conv(x), size=(20, 12), mode="nearest-exact")
        y = F.interpolate(y, scale_factor=2, mode="area") + F.interpolate(y, size=(40, 24), mode="nearest-exact")
        return y


class GlobalResponseNorm(nn.Module):
    """ConvNeXt V2 blocks by hand: depthwise 7x7, permute to N H W C, LayerNorm, Linear 4C, GELU, GRN
    (`torch.norm` over H, W, divided by its mean over the channels), Linear C, permute back, residual."""

    def __init__(self, c=16, blocks=2):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 2, stride=2)
        self.dw = nn.ModuleList(nn.Conv2d(c, c, 7, padding=3, groups=c) for _ in range(blocks))
        self.norm = nn.ModuleList(nn.LayerNorm(c, eps=1e-6) for _ in range(blocks))
        self.fc1 = nn.ModuleList(nn.Linear(c, 4 * c) for _ in range(blocks))
        self.gamma = nn.ParameterList(nn.Parameter(torch.randn(1, 1, 1, 4 * c)) for _ in range(blocks))
        self.beta = nn.ParameterList(nn.Parameter(torch.randn(1, 1, 1, 4 * c)) for _ in range(blocks))
        self.fc2 = nn.ModuleList(nn.Linear(4 * c, c) for _ in range(blocks))

    def forward(self, x):
        x = self.stem(x)
        for dw, norm, fc1, gamma, beta, fc2 in zip(self.dw, self.norm, self.fc1, self.gamma, self.beta, self.fc2):
            y = F.gelu(fc1(norm(dw(x).permute(0, 2, 3, 1))))
            gx = torch.norm(y, p=2, dim=(1, 2), keepdim=True)
            nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
            y = gamma * (y * nx) + beta + y
            x = x + fc2(y).permute(0, 3, 1, 2)
        return x


class EfficientChannelAttention(nn.Module):
    """ECA: global average pooling, `squeeze(-1).transpose(-1, -2)`, a Conv1d of kernel 3 across the channels,
    back by `transpose(-1, -2).unsqueeze(-1)`, sigmoid, the input scaled by `expand_as`."""

    def __init__(self, c=32):
        super().__init__()
        self.conv1 = nn.Conv2d(3, c, 3, stride=2, padding=1)
        self.eca = nn.Conv1d(1, 1, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, groups=4)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        y = self.eca(self.pool(x).squeeze(-1).transpose(-1, -2))
        y = torch.sigmoid(y.transpose(-1, -2).unsqueeze(-1))
        return self.conv2(x * y.expand_as(x))


class Conv1d3d(nn.Module):
    """a volume and a sequence: the image repeated along a depth axis, Conv3d (3x3x3, then strided), the depth
    reduced by a mean, a Conv1d along the flattened pixels, MaxPool1d, a 1-D transposed convolution."""

    def __init__(self, c=8):
        super().__init__()
        self.conv3a = nn.Conv3d(3, c, 3, padding=1)
        self.conv3b = nn.Conv3d(c, c, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.conv1 = nn.Conv1d(c, 2 * c, 5, stride=2, padding=2)
        self.pool = nn.MaxPool1d(2)
        self.up = nn.ConvTranspose1d(2 * c, c, 4, stride=2, padding=1)

    def forward(self, x):
        v = x.unsqueeze(2).expand(-1, -1, 4, -1, -1)
        v = F.relu(self.conv3b(F.relu(self.conv3a(v))))
        s = v.mean(dim=2).flatten(2)
        return self.up(self.pool(F.relu(self.conv1(s))))


class Elementwise(nn.Module):
    """the element-wise and indexing ops of the ONNX list: Unsqueeze, Squeeze, Expand, Tile (`repeat`), Gather
    (a tensor index and `index_select`), Where with a comparison, Pow, Sqrt, Erf, Exp, Log, Abs, Neg, Reciprocal,
    Clip, Min/Max, Greater/Less/Equal, Cast to float and to int64, Sign, Floor."""

    def __init__(self, c=8):
        super().__init__()
        self.conv = nn.Conv2d(3, c, 3, padding=1)
        self.register_buffer("order", torch.tensor([3, 1, 0, 2, 7, 5, 4, 6]))
        self.conv2 = nn.Conv2d(2 * c, c, 1)

    def forward(self, x):
        x = self.conv(x)
        y = torch.where(x > 0, x, 0.1 * x)
        y = torch.sqrt(y.abs() + 1).pow(2) + torch.erf(y) - torch.exp(-y.abs()) + torch.log(y.abs() + 1)
        mask = (x < 0.5).float() + (x == 0).to(torch.float32) + (x >= -0.2).float()
        y = torch.clamp(y * mask, -2.0, 2.0) + torch.maximum(x, y) - torch.minimum(x, -y)
        y = y[:, self.order] + torch.index_select(y, 1, self.order).neg() * 0.5 + torch.reciprocal(y.abs() + 1)
        q = torch.floor(y * 4).to(torch.int64).float() / 4 + torch.sign(y)
        z = x.mean(1).unsqueeze(1).repeat(1, 2, 1, 1)  # Tile
        y = torch.cat([q + z[:, :1], y.sum(1, keepdim=True).squeeze(1).unsqueeze(1).expand(-1, x.shape[1], -1, -1)], 1)
        return self.conv2(y)


class Reductions(nn.Module):
    """Reduce* on various axes, with and without keepdim: sum, mean, amax, amin, prod, L1 and L2 norms, var,
    logsumexp, on the channels, on H, on W, on H and W and on all but the batch; the results combined by Linear."""

    def __init__(self, c=8):
        super().__init__()
        self.conv = nn.Conv2d(3, c, 3, stride=2, padding=1)
        self.fc = nn.Linear(8 * 16 + 4 * c + 1, 10)  # the 161 reduced values below

    def forward(self, x):
        x = torch.tanh(self.conv(x))  # 1 x 8 x 16 x 16
        parts = [
            x.sum(1).flatten(1)[:, :16], x.mean(2).flatten(1)[:, :16], x.amax(3).flatten(1)[:, :16],
            x.amin(dim=(2, 3)), torch.prod(x[:, :, :2, :2] + 1, dim=-1).flatten(1),
            x.norm(p=1, dim=(2, 3)), torch.linalg.vector_norm(x, 2, dim=(1, 3)).flatten(1),
            x.var(dim=(2, 3), unbiased=False), torch.logsumexp(x, dim=1).flatten(1)[:, :16],
            x.mean(dim=(1, 2, 3)).unsqueeze(1), x.max(dim=1, keepdim=True).values.flatten(1)[:, :16],
            x.mean(dim=(2, 3), keepdim=True).squeeze(-1).squeeze(-1), x.sum(dim=(1, 2), keepdim=True).flatten(1),
        ]
        return self.fc(torch.cat(parts, dim=1))


class PadSplit(nn.Module):
    """F.pad in its modes (constant with a value, reflect, replicate, circular) and asymmetric, torch.split into
    unequal sizes along channels and along W, `tensor_split`, the pieces through convs, concatenated."""

    def __init__(self, c=12):
        super().__init__()
        self.conv = nn.Conv2d(3, c, 3)
        self.a = nn.Conv2d(2, 4, 3)
        self.b = nn.Conv2d(4, 4, 3, groups=2)
        self.d = nn.Conv2d(6, 4, 1)

    def forward(self, x):
        x = self.conv(F.pad(x, (1, 1, 1, 1), mode="reflect"))
        a, b, d = torch.split(x, [2, 4, 6], dim=1)
        a = self.a(F.pad(a, (1, 1, 1, 1), mode="replicate"))
        b = self.b(F.pad(b, (2, 0, 0, 2), value=0.25))
        d = self.d(F.pad(d, (1, 1, 1, 1), mode="circular"))[:, :, 1:-1, 1:-1]
        y = torch.cat([a, b, d], dim=1)
        left, right = torch.split(y, [12, y.shape[-1] - 12], dim=-1)
        top, bottom = torch.tensor_split(y, 2, dim=2)
        return torch.cat([right, left], -1) + torch.cat([bottom, top], 2)


class TokenMixer(nn.Module):
    """an MLP-Mixer by hand: patches by reshape / permute (no conv), Linear embedding, LayerNorm on the last axis
    of the tokens, token mixing by a Linear on the transposed tokens, channel mixing, GELU in its tanh form."""

    def __init__(self, c=32, patch=8, size=64):
        super().__init__()
        self.patch, tokens = patch, (size // patch) ** 2
        self.embed = nn.Linear(3 * patch * patch, c)
        self.norm1, self.norm2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.tokens = nn.Sequential(nn.Linear(tokens, 2 * tokens), nn.GELU(approximate="tanh"), nn.Linear(2 * tokens, tokens))
        self.channels = nn.Sequential(nn.Linear(c, 2 * c), nn.GELU(approximate="tanh"), nn.Linear(2 * c, c))
        self.head = nn.Linear(c, 10)

    def forward(self, x):
        n, c, h, w = x.shape
        p = self.patch
        x = x.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5).reshape(n, (h // p) * (w // p), c * p * p)
        x = self.embed(x)
        x = x + self.tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        x = x + self.channels(self.norm2(x))
        return self.head(x.mean(dim=1))


class LearnableAffine(nn.Module):
    """HGNetV2's learnable affine block (timm's LearnableAffineBlock): `scale * x + bias`, one value each."""

    def __init__(self):
        super().__init__()
        self.scale, self.bias = nn.Parameter(torch.ones(1)), nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.scale * x + self.bias


class StarReLU(nn.Module):
    """PoolFormerV2's StarReLU (timm's): `scale * relu(x) ** 2 + bias`, one learned value each."""

    def __init__(self):
        super().__init__()
        self.scale, self.bias = nn.Parameter(torch.ones(1)), nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.scale * F.relu(x) ** 2 + self.bias


class LearnedScalars(nn.Module):
    """learned numbers and LayerNorms without shift: a learnable affine block and StarReLU (modules of two
    nn.Parameter of one value, as timm writes them), a channels-first LayerNorm without bias by F.layer_norm on the
    permuted map (timm's LayerNorm2dNoBias), nn.LayerNorm(C, bias=False) on tokens."""

    def __init__(self, c=16):
        super().__init__()
        self.conv = nn.Conv2d(3, c, 3, stride=2, padding=1)
        self.lab, self.act = LearnableAffine(), StarReLU()
        self.norm2d = nn.Parameter(torch.ones(c))
        self.norm = nn.LayerNorm(c, bias=False)
        self.fc = nn.Linear(c, 10)

    def forward(self, x):
        x = self.lab(self.conv(x))
        x = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), self.norm2d).permute(0, 3, 1, 2)
        tokens = self.norm(self.act(x).flatten(2).transpose(1, 2))
        return self.fc(tokens.mean(dim=1))


class SharedWeights(nn.Module):
    """one module applied at several places: a depthwise conv position encoding added in two blocks (CoaT's shared
    ConvPosEnc), a head conv run on two pyramid levels of different sizes (RetinaNet's head over its levels), one
    nn.Linear applied twice to the tokens and another twice to the pooled vector (weight-tied layers)."""

    def __init__(self, c=16, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, stride=2, padding=1)
        self.cpe = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.mix1, self.mix2 = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)
        self.down = nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.head = nn.Conv2d(c, c, 3, padding=1)
        self.mlp = nn.Linear(c, c)
        self.fc = nn.Linear(c, c)
        self.out = nn.Linear(c, classes)

    def forward(self, x):
        x = self.stem(x)
        x = F.relu(self.mix1(x + self.cpe(x)))
        x = F.relu(self.mix2(x + self.cpe(x)))
        p1, p2 = self.head(x), self.head(self.down(x))
        t = p1.flatten(2).transpose(1, 2)
        t = t + self.mlp(F.gelu(self.mlp(t)))
        y = t.mean(dim=1) + p2.mean(dim=(2, 3))
        y = self.fc(F.relu(self.fc(y)))
        return self.out(y)


MODULES = {
    "squeeze_excite": (SqueezeExcite, 32),
    "functional_conv": (FunctionalConv, 32),
    "channel_shuffle": (ChannelShuffle, 32),
    "einsum_attention": (EinsumAttention, 32),
    "mhsa": (MultiHeadSelfAttention, 32),
    "upsample_decoder": (UpsampleDecoder, 32),
    "nearest_exact": (NearestExact, 32),
    "grn": (GlobalResponseNorm, 32),
    "eca": (EfficientChannelAttention, 32),
    "conv1d3d": (Conv1d3d, 32),
    "elementwise": (Elementwise, 16),
    "reductions": (Reductions, 32),
    "pad_split": (PadSplit, 32),
    "token_mixer": (TokenMixer, 64),
    "learned_scalars": (LearnedScalars, 32),
    "shared_weights": (SharedWeights, 32),
    "shared_norms": (SharedNorms, 32),
    "uneven_pooling": (UnevenPooling, 32),
}
