"""A Llama-style decoder in plain PyTorch (eager attention, RMSNorm, SwiGLU, RoPE, grouped-query attention), written
as Hugging Face's LlamaForCausalLM computes it in eager mode, at the sizes of MemPlan's zoo builders
(sample-models LlamaBuilder): `tiny-llama` and `small-llama` have the same layers, parameters and names.

Used by fidelity.py for the rows that name a MemPlan sample model instead of an ONNX file. Hooks for later
training setups (frozen parameters, LoRA adapters) take parameter-name patterns: see `freeze`.
"""
import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

# name -> (vocab, width, layers, heads, kv_heads, intermediate, seq, rope_theta, eps); as LlamaBuilder's configs
CONFIGS = {
    "tiny-llama": (64, 32, 2, 4, 2, 64, 16, 10000.0, 1e-6),
    "small-llama": (2048, 256, 4, 8, 2, 688, 128, 10000.0, 1e-6),
}


class RMSNorm(nn.Module):
    """Hugging Face's LlamaRMSNorm (fp32): pow, mean, rsqrt and two products (autograd keeps x, rstd, x * rstd)."""

    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def repeat_kv(x, n):
    """[N, Hkv, T, dh] -> [N, Hkv * n, T, dh] (a copy, as Hugging Face's repeat_kv); itself when n == 1."""
    if n == 1:
        return x
    b, h, t, d = x.shape
    return x[:, :, None, :, :].expand(b, h, n, t, d).reshape(b, h * n, t, d)


class Attention(nn.Module):
    def __init__(self, d, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.dh = heads, kv_heads, d // heads
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * self.dh, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * self.dh, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)

    def forward(self, x, cos, sin, mask):
        n, t, d = x.shape
        q = self.q_proj(x).view(n, t, self.heads, self.dh).transpose(1, 2)
        k = self.k_proj(x).view(n, t, self.kv_heads, self.dh).transpose(1, 2)
        v = self.v_proj(x).view(n, t, self.kv_heads, self.dh).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = repeat_kv(k, self.heads // self.kv_heads)
        v = repeat_kv(v, self.heads // self.kv_heads)
        s = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.dh)
        s = s + mask
        p = F.softmax(s, dim=-1, dtype=torch.float32).to(q.dtype)
        o = torch.matmul(p, v)
        o = o.transpose(1, 2).contiguous().reshape(n, t, d)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, d, inter):
        super().__init__()
        self.gate_proj = nn.Linear(d, inter, bias=False)
        self.up_proj = nn.Linear(d, inter, bias=False)
        self.down_proj = nn.Linear(inter, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, d, heads, kv_heads, inter, eps):
        super().__init__()
        self.input_layernorm = RMSNorm(d, eps)
        self.self_attn = Attention(d, heads, kv_heads)
        self.post_attention_layernorm = RMSNorm(d, eps)
        self.mlp = MLP(d, inter)

    def forward(self, x, cos, sin, mask):
        r = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return r + self.mlp(self.post_attention_layernorm(r))


class Model(nn.Module):
    def __init__(self, vocab, d, layers, heads, kv_heads, inter, seq, theta, eps):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(Layer(d, heads, kv_heads, inter, eps) for _ in range(layers))
        self.norm = RMSNorm(d, eps)
        dh = d // heads
        inv = theta ** (-torch.arange(0, dh, 2, dtype=torch.float32) / dh)
        ang = torch.outer(torch.arange(seq, dtype=torch.float32), inv)
        ang = torch.cat((ang, ang), dim=-1)
        # tables and mask need no gradient: buffers (not saved as activations), as Hugging Face's rotary cache
        self.register_buffer("cos", ang.cos(), persistent=False)
        self.register_buffer("sin", ang.sin(), persistent=False)
        self.register_buffer("mask", torch.full((seq, seq), float("-inf")).triu(1), persistent=False)

    def forward(self, tokens):
        t = tokens.shape[1]
        cos, sin, mask = self.cos[:t], self.sin[:t], self.mask[:t, :t]
        x = self.embed_tokens(tokens)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.norm(x)


class CausalLM(nn.Module):
    """Parameter names as Hugging Face's: model.embed_tokens.weight, model.layers.0.self_attn.q_proj.weight, ..."""

    def __init__(self, vocab, d, layers, heads, kv_heads, inter, seq, theta, eps):
        super().__init__()
        self.model = Model(vocab, d, layers, heads, kv_heads, inter, seq, theta, eps)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, tokens):
        return self.lm_head(self.model(tokens))


def build(name, batch):
    """(model, tokens [batch, seq], next-token targets [batch, seq]) at the sample's default sequence length."""
    cfg = CONFIGS[name]
    torch.manual_seed(0)
    m = CausalLM(*cfg)
    vocab, seq = cfg[0], cfg[6]
    return m, torch.randint(0, vocab, (batch, seq)), torch.randint(0, vocab, (batch, seq))


def loss_fn(out, y):
    return F.cross_entropy(out.flatten(0, 1), y.flatten())


def freeze(model, patterns):
    """Turns off requires_grad for parameters whose name matches one of the regular expressions (a hook for the
    frozen-weight and LoRA rows; the rows measured so far train every parameter)."""
    for name, p in model.named_parameters():
        if any(re.search(pat, name) for pat in patterns):
            p.requires_grad_(False)
    return model
