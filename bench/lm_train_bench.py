"""The same LM and training step as bench/lm_train_bench.cpp, in Python PyTorch.

2 layers, d 128, 4 heads, FFN 512 (GELU), T 64, batch 32, RMSNorm pre-norm, learned
positions, explicit softmax attention, AdamW(1e-3, wd 0.1, betas 0.9/0.95), grad clip 1.
Usage: python3 lm_train_bench.py [steps] [threads]
"""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


class Block(nn.Module):
    def __init__(self, d, h, ffn):
        super().__init__()
        self.h, self.dh = h, d // h
        self.norm1, self.norm2 = RMSNorm(d), RMSNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.proj = nn.Linear(d, d, bias=False)
        self.fc1, self.fc2 = nn.Linear(d, ffn), nn.Linear(ffn, d)

    def forward(self, x, visible):
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
        s = q @ k.transpose(-2, -1) / math.sqrt(self.dh)
        w = torch.softmax(s.masked_fill(~visible, float("-inf")), -1)
        x = x + self.proj((w @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class LM(nn.Module):
    def __init__(self, vocab=66, d=128, layers=2, h=4, ffn=512, ctx=64):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList(Block(d, h, ffn) for _ in range(layers))
        self.norm_f = RMSNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.tok(tokens) + self.pos(torch.arange(t))[None]
        visible = torch.ones(t, t, dtype=torch.bool).tril()
        for blk in self.blocks:
            x = blk(x, visible)
        return self.head(self.norm_f(x))


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    mode = sys.argv[3] if len(sys.argv) > 3 else "full"  # full | fwdbwd | noclip
    torch.set_num_threads(threads if threads > 0 else torch.get_num_threads())
    torch.manual_seed(0)
    model = LM()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1, betas=(0.9, 0.95))
    b, t, vocab = 32, 64, 66
    tokens = torch.randint(0, vocab, (b, t + 1))

    def step():
        logits = model(tokens[:, :t])
        loss = F.cross_entropy(logits.reshape(-1, vocab), tokens[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        if mode == "full":
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        if mode != "fwdbwd":
            opt.step()
        return loss.item()

    for _ in range(10):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    s = time.perf_counter() - t0
    print(f"python tokens_per_sec {steps * b * t / s:.0f} steps_per_sec {steps / s:.2f} "
          f"threads {torch.get_num_threads()} torch {torch.__version__}")


if __name__ == "__main__":
    main()
