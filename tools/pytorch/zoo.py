"""The models of the fidelity table: torchvision's, and small hand-written ones (U-Net, Transformer encoder,
GPT-style decoder, LSTM) for kinds torchvision lacks. Each entry builds (model, example input, loss kind)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.models as tvm


class UNet(nn.Module):
    """A small U-Net (two levels) for segmentation into `classes` classes, per-pixel cross-entropy."""

    def __init__(self, c=16, classes=4):
        super().__init__()

        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                                 nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))
        self.d1, self.d2, self.mid = block(3, c), block(c, 2 * c), block(2 * c, 4 * c)
        self.up2, self.u2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2), block(4 * c, 2 * c)
        self.up1, self.u1 = nn.ConvTranspose2d(2 * c, c, 2, stride=2), block(2 * c, c)
        self.head = nn.Conv2d(c, classes, 1)

    def forward(self, x):
        a = self.d1(x)
        b = self.d2(F.max_pool2d(a, 2))
        m = self.mid(F.max_pool2d(b, 2))
        b = self.u2(torch.cat([self.up2(m), b], 1))
        a = self.u1(torch.cat([self.up1(b), a], 1))
        return self.head(a)


class EncoderClassifier(nn.Module):
    """nn.TransformerEncoder over token embeddings, mean over the sequence, a linear classifier."""

    def __init__(self, vocab=1000, d=128, heads=4, layers=2, classes=10, dropout=0.1):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=dropout, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, classes)

    def forward(self, ids):
        return self.head(self.enc(self.emb(ids)).mean(1))


class Block(nn.Module):
    """A GPT-style pre-norm decoder block: causal self-attention written out, GELU MLP."""

    def __init__(self, d, heads, t):
        super().__init__()
        self.h = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.register_buffer("causal", torch.tril(torch.ones(t, t, dtype=torch.bool)).view(1, 1, t, t))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // self.h))
        att = att.masked_fill(~self.causal[:, :, :t, :t], float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class Gpt(nn.Module):
    def __init__(self, vocab=1000, d=128, heads=4, layers=2, t=64):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(t, d)
        self.blocks = nn.Sequential(*[Block(d, heads, t) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.register_buffer("pos", torch.arange(t).view(1, t))

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(self.pos)
        return self.head(self.ln(self.blocks(x)))   # [N, T, V]


class LstmClassifier(nn.Module):
    def __init__(self, vocab=1000, d=128, hidden=256, classes=10):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.lstm = nn.LSTM(d, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, ids):
        out, _ = self.lstm(self.emb(ids))
        return self.head(out[:, -1])


def image(name, size=224, **kw):
    def build(batch):
        torch.manual_seed(0)
        m = getattr(tvm, name)(weights=None, **kw)
        return m, torch.randn(batch, 3, size, size), torch.randint(0, 1000, (batch,))
    return build


def unet(batch):
    torch.manual_seed(0)
    return UNet(), torch.randn(batch, 3, 64, 64), torch.randint(0, 4, (batch, 64, 64))


def encoder(batch):
    torch.manual_seed(0)
    return EncoderClassifier(), torch.randint(0, 1000, (batch, 64)), torch.randint(0, 10, (batch,))


def gpt(batch):
    torch.manual_seed(0)
    return Gpt(), torch.randint(0, 1000, (batch, 64)), torch.randint(0, 1000, (batch, 64))


def lstm(batch):
    torch.manual_seed(0)
    return LstmClassifier(), torch.randint(0, 1000, (batch, 32)), torch.randint(0, 10, (batch,))


MODELS = {
    "resnet18": image("resnet18"),
    "resnet50": image("resnet50"),
    "vgg16": image("vgg16"),
    "alexnet": image("alexnet"),
    "mobilenet_v2": image("mobilenet_v2"),
    "mobilenet_v3_small": image("mobilenet_v3_small"),
    # stochastic depth off: its bernoulli_ does not export in training mode (torch 1.13)
    "efficientnet_b0": image("efficientnet_b0", stochastic_depth_prob=0.0),
    "densenet121": image("densenet121"),
    "squeezenet1_1": image("squeezenet1_1"),
    "shufflenet_v2_x1_0": image("shufflenet_v2_x1_0"),
    "regnet_y_400mf": image("regnet_y_400mf"),
    "convnext_tiny": image("convnext_tiny", stochastic_depth_prob=0.0),
    "unet": unet,
    "transformer_encoder": encoder,
    "gpt": gpt,
    "lstm": lstm,
}
