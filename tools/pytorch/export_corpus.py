#!/usr/bin/env python3
"""Exports the ONNX import corpus (issue 14): torchvision models and torch.nn modules in training mode.

Every model is exported with training=torch.onnx.TrainingMode.TRAINING and do_constant_folding=False (so that
BatchNorm stays, Dropout stays and nothing is folded away, as a user profiling training would export), at the
opsets given, into a cache folder that is not committed, with a manifest (manifest.json) recording per file the
model, the opset, the input shape and sum(p.numel()) over the model's parameters.

    nice /usr/bin/python3 tools/pytorch/export_corpus.py DIR [--opsets 13,17] [--models resnet18,lstm]
    /usr/bin/python3 tools/pytorch/export_corpus.py --tiny engine/src/test/resources/onnx/corpus

--tiny writes the few tiny-width files kept in the engine's test resources (one per new operator family), with
their manifest; the tests read parameter counts from that manifest, never typed by hand.
Runner: `memplan bench onnx-corpus DIR` (see docs/onnx.md) imports each file, compares the parameter count and
times `memplan profile` with JVM start.
"""
import argparse
import json
import os
import sys
import time
import warnings

import torch
import torch.nn as nn

SEQ = 12    # sequence length of the nn-module models
BATCH = 2


# ---------------------------------------------------------------------------------------------------- nn modules

class Conv1dAudio(nn.Module):
    """A small keyword-spotting style net on a waveform [N, 1, L]: 1-D conv, BatchNorm1d, pools, transposed conv."""

    def __init__(self, width=16, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, width, 9, stride=2, padding=4), nn.BatchNorm1d(width), nn.ReLU(), nn.MaxPool1d(3, 2, 1),
            nn.Conv1d(width, 2 * width, 5, padding=2, groups=1), nn.BatchNorm1d(2 * width), nn.ReLU(),
            nn.AvgPool1d(2),
            nn.ConvTranspose1d(2 * width, width, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv1d(width, width, 3, padding=2, dilation=2, groups=2), nn.ReLU(),
            nn.AdaptiveAvgPool1d(1))
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


class Conv3dNet(nn.Module):
    """A tiny video net on [N, 3, T, H, W]: 3-D conv, BatchNorm3d, max and average pooling, global pooling."""

    def __init__(self, width=4, classes=5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(3, width, (3, 5, 5), stride=(1, 2, 2), padding=(1, 2, 2), bias=False),
            nn.BatchNorm3d(width), nn.ReLU(), nn.MaxPool3d(3, 2, 1),
            nn.Conv3d(width, 2 * width, 3, padding=1), nn.BatchNorm3d(2 * width), nn.ReLU(),
            nn.AvgPool3d((1, 2, 2)), nn.AdaptiveAvgPool3d(1))
        self.head = nn.Linear(2 * width, classes)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


class GroupNormNet(nn.Module):
    def __init__(self, width=8, groups=4, classes=5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.GroupNorm(groups, width), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.GroupNorm(groups, 2 * width), nn.ReLU(),
            nn.InstanceNorm2d(2 * width, affine=True), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(2 * width, classes)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


class Recurrent(nn.Module):
    """nn.LSTM / nn.GRU / nn.RNN over [L, N, I] with the initial state as a second graph input (h0, and c0)."""

    def __init__(self, kind, inp=6, hidden=8, layers=1, bidirectional=False, classes=3, explicit_state=True):
        super().__init__()
        self.kind = kind
        cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
        self.rnn = cls(inp, hidden, num_layers=layers, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), classes)
        self.explicit_state = explicit_state

    def forward(self, x, *state):
        if not self.explicit_state:
            y, _ = self.rnn(x)
        elif self.kind == "lstm":
            y, _ = self.rnn(x, (state[0], state[1]))
        else:
            y, _ = self.rnn(x, state[0])
        return self.head(y[-1])


class TransformerEncoderNet(nn.Module):
    def __init__(self, d=32, heads=4, layers=2, classes=5):
        super().__init__()
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.1), layers)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.enc(x)[0])


class TransformerDecoderNet(nn.Module):
    def __init__(self, d=32, heads=4, layers=2, classes=5):
        super().__init__()
        self.dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(d, heads, 4 * d, dropout=0.1), layers)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.dec(x, x)[0])


class MultiheadAttentionNet(nn.Module):
    def __init__(self, d=32, heads=4, classes=5):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        y, _ = self.attn(x, x, x, need_weights=False)
        return self.head(y[0])


# ---------------------------------------------------------------------------------------------------- the corpus

def _tv(name, size=224, **kw):
    """A torchvision classification, segmentation or video model, built lazily."""
    def build():
        import torchvision.models as m
        import torchvision.models.segmentation as seg
        import torchvision.models.video as video
        for mod in (m, seg, video):
            if hasattr(mod, name):
                return getattr(mod, name)(weights=None, **kw)
        raise KeyError(name)
    return build, size


def _image(size, channels=3):
    return lambda: (torch.randn(BATCH, channels, size, size),)


# name -> (builder, example-input maker, input names). Classification models at small input sizes where allowed.
CORPUS = {}
for _name, _size in [
        ("alexnet", 224), ("convnext_tiny", 64), ("densenet121", 64), ("efficientnet_b0", 64), ("googlenet", 64),
        ("inception_v3", 299), ("mnasnet0_5", 64), ("mobilenet_v2", 64), ("mobilenet_v3_small", 64),
        ("mobilenet_v3_large", 64), ("regnet_y_400mf", 64), ("resnet18", 64), ("resnet50", 64),
        ("resnext50_32x4d", 64), ("shufflenet_v2_x0_5", 64), ("squeezenet1_0", 64), ("swin_t", 224),
        ("vgg11", 224), ("vit_b_16", 224), ("wide_resnet50_2", 64)]:
    _kw = {"aux_logits": False, "init_weights": False} if _name in ("googlenet", "inception_v3") else {}
    CORPUS[_name] = (_tv(_name, **_kw)[0], _image(_size), ["x"])
for _name in ["fcn_resnet50", "deeplabv3_resnet50", "lraspp_mobilenet_v3_large"]:
    # weights_backbone=None: no download (this machine has no network)
    _kw = {"weights_backbone": None} if _name.startswith("lraspp") else {"aux_loss": False, "weights_backbone": None}
    CORPUS[_name] = (_tv(_name, **_kw)[0], _image(64), ["x"])
CORPUS["r3d_18"] = (_tv("r3d_18")[0], lambda: (torch.randn(BATCH, 3, 8, 56, 56),), ["x"])


def _seq(d):
    return lambda: (torch.randn(SEQ, BATCH, d),)


def _rec(kind, inp=16, hidden=32, layers=1, bidirectional=False):
    dirs = 2 if bidirectional else 1

    def make():
        x = torch.randn(SEQ, BATCH, inp)
        h = torch.zeros(layers * dirs, BATCH, hidden)
        return (x, h, torch.zeros_like(h)) if kind == "lstm" else (x, h)
    names = ["x", "h0", "c0"] if kind == "lstm" else ["x", "h0"]
    return (lambda: Recurrent(kind, inp, hidden, layers, bidirectional), make, names)


CORPUS.update({
    "transformer_encoder": (lambda: TransformerEncoderNet(128, 4, 2), _seq(128), ["x"]),
    "transformer_decoder": (lambda: TransformerDecoderNet(128, 4, 2), _seq(128), ["x"]),
    "multihead_attention": (lambda: MultiheadAttentionNet(128, 4), _seq(128), ["x"]),
    "lstm": _rec("lstm", 16, 32, 2, True),
    "gru": _rec("gru", 16, 32, 2, True),
    "conv1d_audio": (lambda: Conv1dAudio(32), lambda: (torch.randn(BATCH, 1, 1600),), ["x"]),
    "groupnorm_net": (lambda: GroupNormNet(32, 8), _image(32), ["x"]),
})

# Tiny widths, kept in the engine's test resources (each file well under 200 KB).
TINY = {
    "conv1d": (lambda: Conv1dAudio(4, 3), lambda: (torch.randn(BATCH, 1, 64),), ["x"]),
    "conv3d": (lambda: Conv3dNet(4, 5), lambda: (torch.randn(BATCH, 3, 4, 8, 8),), ["x"]),
    "groupnorm": (lambda: GroupNormNet(8, 4, 5), _image(8), ["x"]),
    "lstm": (lambda: Recurrent("lstm", 6, 8, 1, False), lambda: (torch.randn(5, BATCH, 6), torch.zeros(1, BATCH, 8),
                                                                   torch.zeros(1, BATCH, 8)), ["x", "h0", "c0"]),
    "lstm_bi2": (lambda: Recurrent("lstm", 6, 8, 2, True),
                 lambda: (torch.randn(5, BATCH, 6), torch.zeros(4, BATCH, 8), torch.zeros(4, BATCH, 8)),
                 ["x", "h0", "c0"]),
    "gru": (lambda: Recurrent("gru", 6, 8, 1, False), lambda: (torch.randn(5, BATCH, 6), torch.zeros(1, BATCH, 8)),
            ["x", "h0"]),
    "gru_bi": (lambda: Recurrent("gru", 6, 8, 1, True), lambda: (torch.randn(5, BATCH, 6), torch.zeros(2, BATCH, 8)),
               ["x", "h0"]),
    "rnn": (lambda: Recurrent("rnn", 6, 8, 1, False), lambda: (torch.randn(5, BATCH, 6), torch.zeros(1, BATCH, 8)),
            ["x", "h0"]),
}


def _no_stochastic_depth(model):
    """Sets every StochasticDepth's probability to 0; returns how many there were.

    PyTorch 1.13 cannot export the Bernoulli that StochasticDepth draws in training mode (efficientnet, convnext,
    swin). torchvision's stochastic_depth returns its input when p == 0, so the exported graph is the training graph
    without the random drop, and the parameters are unchanged.
    """
    try:
        from torchvision.ops import StochasticDepth
    except ImportError:
        return 0
    n = 0
    for mod in model.modules():
        if isinstance(mod, StochasticDepth):
            mod.p = 0.0
            n += 1
    return n


def export(model, inputs, names, path, opset):
    """Exports in training mode; the batch axis (dim 0 of images, dim 1 of sequences and states) is symbolic."""
    seq = isinstance(model, (Recurrent, TransformerEncoderNet, TransformerDecoderNet, MultiheadAttentionNet))
    axes = {}
    for n, t in zip(names, inputs):
        axes[n] = {1: "N"} if seq else {0: "N"}
    axes["out"] = {0: "N"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, inputs, path, opset_version=opset, training=torch.onnx.TrainingMode.TRAINING,
                          do_constant_folding=False, input_names=names, output_names=["out"], dynamic_axes=axes)


def run(table, out, opsets, only):
    os.makedirs(out, exist_ok=True)
    manifest_path = os.path.join(out, "manifest.json")
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {}
    for name, (build, make, names) in table.items():
        if only and name not in only:
            continue
        torch.manual_seed(0)
        try:
            model = build()
        except Exception as e:   # noqa: BLE001 - a model that cannot be built must not stop the corpus
            print("%-40s build failed: %s" % (name, str(e)[:200]), file=sys.stderr, flush=True)
            continue
        zeroed = _no_stochastic_depth(model)
        model.train()
        inputs = make()
        params = sum(p.numel() for p in model.parameters())
        for opset in opsets:
            file = "%s-op%d.onnx" % (name, opset)
            t0 = time.time()
            try:
                export(model, inputs, names, os.path.join(out, file), opset)
                manifest[file] = {"model": name, "opset": opset, "params": params,
                                  "inputs": {n: list(t.shape) for n, t in zip(names, inputs)},
                                  "torch": torch.__version__}
                if zeroed:
                    manifest[file]["stochastic_depth_zeroed"] = zeroed
                print("%-40s %12d params  %.1fs" % (file, params, time.time() - t0), flush=True)
            except Exception as e:   # noqa: BLE001 - one failed export must not stop the corpus
                manifest[file] = {"model": name, "opset": opset, "params": params, "error": str(e)[:300]}
                print("%-40s export failed: %s" % (file, str(e)[:200]), file=sys.stderr, flush=True)
            with open(manifest_path, "w") as f:
                json.dump(dict(sorted(manifest.items())), f, indent=1)
                f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="output folder (a cache, not committed)")
    ap.add_argument("--opsets", default="13,17")
    ap.add_argument("--models", default="", help="comma-separated names (default: all)")
    ap.add_argument("--tiny", action="store_true", help="the tiny test-resource files instead of the corpus")
    a = ap.parse_args()
    torch.set_num_threads(1)
    only = set(filter(None, a.models.split(",")))
    opsets = [int(o) for o in a.opsets.split(",")]
    run(TINY if a.tiny else CORPUS, a.dir, [13] if a.tiny and a.opsets == "13,17" else opsets, only)


if __name__ == "__main__":
    main()
