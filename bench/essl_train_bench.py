"""The same E-SSL3D model and training step as bench/essl_train_bench.cpp, in Python PyTorch.

Default preset: pillar encoder (point MLP 8-32-32, per-pillar max, 64 x 64 BEV, two-scale
CNN with GroupNorm, bilinear read-back, F 32), projector/predictor 32-128-64 / 64-128-64,
rotation classifier 64-128-10, EMA target (encoder + projector). Loss: 0.01 PointInfoNCE
(1024 pairs, tau 0.4, summed) + 10 rotation CE + 300 scene-flow warp loss. AdamW(1e-3, wd
0.01), clip 1. It trains on the batches the C++ benchmark wrote (real simulator data).
Usage: python3 essl_train_bench.py STEPS THREADS BATCH_DIR
"""
import copy
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

W, DEPTH, FEAT, R, PILLAR, PROJ, HIDDEN, BINS = 32, 2, 32, 32.0, 1.0, 64, 128, 10
H = int(2 * R / PILLAR + 0.5)


def conv_stage(cin, cout, layers, stride):
    mods = []
    for i in range(layers):
        mods += [nn.Conv2d(cin if i == 0 else cout, cout, 3, stride=stride if i == 0 else 1,
                           padding=1, bias=False),
                 nn.GroupNorm(min(8, cout), cout), nn.ReLU()]
    return nn.Sequential(*mods)


def cell_index(xyz):
    with torch.no_grad():
        B, N, _ = xyz.shape
        ij = torch.floor((xyz[..., :2] + R) / PILLAR).long()
        ix, iy = ij[..., 0], ij[..., 1]
        inside = (ix >= 0) & (ix < H) & (iy >= 0) & (iy < H)
        batch = torch.arange(B).unsqueeze(1).expand(B, N)
        flat = batch * (H * H) + iy * H + ix
        return torch.where(inside, flat, torch.full_like(flat, -1))


class PillarEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.pn1, self.pn2 = nn.Linear(8, W), nn.Linear(W, W)
        self.stage1 = conv_stage(W, W, DEPTH, 1)
        self.stage2 = conv_stage(W, 2 * W, DEPTH, 2)
        self.fuse = nn.Conv2d(3 * W, 2 * W, 1)
        self.head = nn.Linear(3 * W, FEAT)

    def forward(self, xyz):
        B, N, _ = xyz.shape
        cell = cell_index(xyz)
        flat_cell = cell.reshape(B * N)
        pts = xyz.reshape(B * N, 3)
        keep = (flat_cell >= 0).nonzero().squeeze(1)
        kc = flat_cell[keep]
        with torch.no_grad():
            sums = torch.zeros(B * H * H, 3).index_add(0, kc, pts[keep])
            counts = torch.zeros(B * H * H).index_add(0, kc, torch.ones(kc.shape[0]))
            centroid = (sums / counts.clamp_min(1).unsqueeze(1))[flat_cell.clamp_min(0)]
            local = flat_cell.clamp_min(0) % (H * H)
            cx = (local % H).float() * PILLAR + (PILLAR * 0.5 - R)
            cy = torch.div(local, H, rounding_mode="floor").float() * PILLAR + (PILLAR * 0.5 - R)
            x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
            deco = torch.stack([x / R, y / R, z / 3.0, (x - centroid[:, 0]) / PILLAR,
                                (y - centroid[:, 1]) / PILLAR, (z - centroid[:, 2]) / PILLAR,
                                (x - cx) / PILLAR, (y - cy) / PILLAR], 1)
        h = torch.relu(self.pn2(torch.relu(self.pn1(deco))))
        bev = torch.zeros(B * H * H, W).scatter_reduce(
            0, kc.unsqueeze(1).expand(kc.shape[0], W), h[keep], "amax", include_self=False)
        img = bev.view(B, H, H, W).permute(0, 3, 1, 2)
        s1 = self.stage1(img)
        s2 = self.stage2(s1)
        up = F.interpolate(s2, size=(H, H), mode="bilinear", align_corners=False)
        fmap = torch.relu(self.fuse(torch.cat([s1, up], 1)))
        grid = (xyz[..., :2] / R).unsqueeze(1)
        sampled = F.grid_sample(fmap, grid, mode="bilinear", padding_mode="border",
                                align_corners=False)
        per_point = sampled.squeeze(2).transpose(1, 2)
        return self.head(torch.cat([h.view(B, N, W), per_point], 2)), cell


class Mlp(nn.Module):
    def __init__(self, i, hidden, o):
        super().__init__()
        self.l1, self.norm, self.l2 = nn.Linear(i, hidden), nn.LayerNorm(hidden), nn.Linear(hidden, o)

    def forward(self, x):
        return self.l2(torch.relu(self.norm(self.l1(x))))


def pool(f):
    return torch.cat([f.max(1).values, f.mean(1)], 1)


def group_mean(feats, group, groups):
    keep = (group >= 0).nonzero().squeeze(1)
    g = group[keep]
    sums = torch.zeros(groups, feats.shape[1]).index_add(0, g, feats[keep])
    counts = torch.zeros(groups).index_add(0, g, torch.ones(g.shape[0]))
    return sums / counts.clamp_min(1.0).unsqueeze(1), counts


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    src = sys.argv[3] if len(sys.argv) > 3 else "/tmp/pretext-essl-bench"
    warmup, max_steps = 5, 300
    batches = []
    for k in range(4):
        load = lambda n: torch.from_numpy(np.load(f"{src}/b{k}_{n}.npy"))
        batches.append({n: load(n) for n in ("view1", "view2", "current", "previous", "warped")})
        batches[-1]["pairs"] = load("pairs").long()
        batches[-1]["rot"] = load("rot").long()
    torch.manual_seed(0)
    encoder, projector, predictor = PillarEncoder(), Mlp(FEAT, HIDDEN, PROJ), Mlp(PROJ, HIDDEN, PROJ)
    classifier = Mlp(2 * FEAT, HIDDEN, BINS)
    t_encoder, t_projector = copy.deepcopy(encoder), copy.deepcopy(projector)
    for p in list(t_encoder.parameters()) + list(t_projector.parameters()):
        p.requires_grad_(False)
    online = [encoder, projector, predictor, classifier]
    params = [p for m in online for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01, betas=(0.9, 0.999))

    def step(b, k):
        B = b["view1"].shape[0]
        out, cells = encoder(torch.cat([b["view1"], b["view2"], b["current"]], 0))
        f1, f2 = out[:B], out[B:2 * B]
        pooled1, pooled2 = pool(f1), pool(f2)
        log = {}
        P = b["pairs"].shape[1]
        gidx = b["pairs"].unsqueeze(2).expand(B, P, FEAT)
        a, c = f1.gather(1, gidx), f2.gather(1, gidx)
        logits = torch.bmm(F.normalize(a, dim=-1), F.normalize(c, dim=-1).transpose(1, 2)) / 0.4
        pnce = F.cross_entropy(logits.reshape(B * P, P), torch.arange(P).repeat(B),
                               reduction="sum") / B
        log["pnce"] = pnce.item()
        with torch.no_grad():
            sim = torch.bmm(F.normalize(a, dim=-1), F.normalize(c, dim=-1).transpose(1, 2))
            log["top1"] = (sim.argmax(2) == torch.arange(P).unsqueeze(0)).double().mean().item()
        l1, l2 = classifier(pooled1), classifier(pooled2)
        log["acc"] = 0.5 * ((l1.argmax(1) == b["rot"]).double().mean().item()
                            + (l2.argmax(1) == b["rot"]).double().mean().item())
        ebc = 0.5 * (F.cross_entropy(l1, b["rot"]) + F.cross_entropy(l2, b["rot"]))
        log["ebc"] = ebc.item()
        # Scene-flow warp loss on BEV cells.
        cur_cells = cells[2 * B:]
        cur_cells = torch.where(cur_cells >= 0, cur_cells - 2 * B * H * H, cur_cells)
        N, groups = out.shape[1], B * H * H
        with torch.no_grad():
            prev, _ = t_encoder(b["previous"])
            target, warp_counts = group_mean(prev.reshape(B * N, FEAT),
                                             cell_index(b["warped"]).reshape(B * N), groups)
        onl, counts = group_mean(out[2 * B:].reshape(B * N, FEAT), cur_cells.reshape(B * N), groups)
        occ = ((counts > 0) & (warp_counts > 0)).nonzero().squeeze(1)
        y = predictor(projector(onl[occ]))
        with torch.no_grad():
            z = t_projector(target[occ])
        d = (F.normalize(y, dim=-1) - F.normalize(z, dim=-1)).pow(2).sum(-1)
        flow = d.sum() / occ.shape[0] * occ.shape[0] / (B * H * H)
        log["flow"] = flow.item()
        total = 0.01 * pnce + 10.0 * ebc + 300.0 * flow
        if not math.isfinite(total.item()):
            raise RuntimeError("non-finite loss")
        opt.zero_grad()
        total.backward()
        log["grad_norm"] = torch.nn.utils.clip_grad_norm_(params, 1.0).item()
        opt.step()
        m = 1.0 - (1.0 - 0.99) * (math.cos(math.pi * min(k, max_steps) / max_steps) + 1.0) / 2.0
        with torch.no_grad():
            for tgt, src_m in ((t_encoder, encoder), (t_projector, projector)):
                for pt, po in zip(tgt.parameters(), src_m.parameters()):
                    pt.mul_(m).add_(po, alpha=1.0 - m)
        log["total"] = total.item()
        return log

    for i in range(warmup):
        step(batches[i % 4], i)
    t0 = time.perf_counter()
    for i in range(steps):
        step(batches[(warmup + i) % 4], warmup + i)
    s = time.perf_counter() - t0
    points = batches[0]["view1"].shape[0] * batches[0]["view1"].shape[1] * 3
    print(f"python steps_per_sec {steps / s:.3f} points_per_sec {steps * points / s:.0f} "
          f"threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
