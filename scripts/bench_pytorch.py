#!/usr/bin/env python3
"""PyTorch reference for `cnx bench train|infer` (issue 11; docs/performance.md).

Times ConvNeXt-Tiny (torchvision's, same architecture as cnx's) on a fixed
random batch: warm-up steps, then N timed steps, and prints one JSON object
with the same keys as `cnx bench … --json` (img_s = median, min, max, step
seconds, peak RSS). Optional: never part of the tests; needs `pip install
torch` (CPU wheels are enough). Without torchvision it builds the same
architecture itself (`convnext` below: torchvision's CNBlock layout, layer
scale 1e-6, stochastic depth rising linearly to 0.1 as torchvision's Tiny).

    python3 scripts/bench_pytorch.py train --batch 16 --image-size 224 --steps 5 --threads 2
    python3 scripts/bench_pytorch.py infer --batch 16 --image-size 224 --steps 5 --threads 2
    python3 scripts/bench_pytorch.py train --compile      # torch.compile
    python3 scripts/bench_pytorch.py train --bf16         # bf16 autocast

Run it alternately with `cnx -c 'bench train …' --json` in one sitting on a
quiet machine, and write down `uptime` with the figures.
"""
import argparse
import json
import os
import resource
import statistics
import time


VARIANTS = {"tiny": ([3, 3, 9, 3], [96, 192, 384, 768], 0.1), "small": ([3, 3, 27, 3], [96, 192, 384, 768], 0.4),
            "base": ([3, 3, 27, 3], [128, 256, 512, 1024], 0.5), "large": ([3, 3, 27, 3], [192, 384, 768, 1536], 0.5)}


def convnext(name, classes):
    """torchvision's ConvNeXt (if installed), else the same network built here."""
    try:
        import torchvision
        return getattr(torchvision.models, f"convnext_{name}")(num_classes=classes)
    except ImportError:
        pass
    import torch
    from torch import nn

    class LayerNorm2d(nn.LayerNorm):  # LayerNorm over channels of NCHW
        def forward(self, x):
            return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    class Block(nn.Module):
        def __init__(self, dim, drop):
            super().__init__()
            self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
            self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.fc1, self.act, self.fc2 = nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)
            self.gamma = nn.Parameter(torch.full((dim, 1, 1), 1e-6))
            self.drop = drop

        def forward(self, x):
            y = self.dw(x).permute(0, 2, 3, 1)
            y = self.fc2(self.act(self.fc1(self.norm(y)))).permute(0, 3, 1, 2) * self.gamma
            if self.training and self.drop > 0:  # stochastic depth, per sample
                keep = torch.empty(x.shape[0], 1, 1, 1).bernoulli_(1 - self.drop) / (1 - self.drop)
                y = y * keep
            return x + y

    depths, dims, rate = VARIANTS[name]
    total, done = sum(depths), 0
    layers = [nn.Conv2d(3, dims[0], 4, stride=4), LayerNorm2d(dims[0], eps=1e-6)]
    for s, (depth, dim) in enumerate(zip(depths, dims)):
        if s > 0:
            layers += [LayerNorm2d(dims[s - 1], eps=1e-6), nn.Conv2d(dims[s - 1], dim, 2, stride=2)]
        for _ in range(depth):
            layers.append(Block(dim, rate * done / (total - 1)))
            done += 1
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), LayerNorm2d(dims[-1], eps=1e-6), nn.Flatten(1),
                         nn.Linear(dims[-1], classes))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["train", "infer"])
    ap.add_argument("--model", default="tiny", choices=["tiny", "small", "base", "large"])
    ap.add_argument("--classes", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--compile", action="store_true", help="torch.compile the model")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast on CPU")
    ap.add_argument("--channels-last", action="store_true", help="NHWC memory format for the model and input (the issue's protocol)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    model = convnext(args.model, args.classes)
    if args.compile:
        model = torch.compile(model)
    x = torch.randn(args.batch, 3, args.image_size, args.image_size)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    labels = torch.softmax(torch.randn(args.batch, args.classes), dim=-1)  # soft labels, as after Mixup
    opt = torch.optim.AdamW(model.parameters(), lr=4e-3, weight_decay=0.05)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16)

    def train_step():
        opt.zero_grad(set_to_none=True)
        with autocast:
            logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer_step():
        with autocast:
            model(x)

    if args.mode == "train":
        model.train()
        step = train_step
    else:
        model.eval()
        step = infer_step
    times = []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        step()
        t1 = time.perf_counter()
        if i >= args.warmup:
            times.append(t1 - t0)
    ips = [args.batch / t for t in times]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({
        "bench": args.mode, "system": f"torch {torch.__version__}" + (" compile" if args.compile else "") + (" bf16" if args.bf16 else "") + (" channels_last" if args.channels_last else ""),
        "model": args.model, "batch": args.batch, "image_size": args.image_size, "steps": args.steps,
        "warmup": args.warmup, "threads": torch.get_num_threads(),
        "img_s": round(statistics.median(ips), 2), "img_s_min": round(min(ips), 2), "img_s_max": round(max(ips), 2),
        "step_s": round(statistics.median(times), 4), "peak_rss_mib": round(peak_kib / 1024),
        "load_avg": list(os.getloadavg()),
    }))


if __name__ == "__main__":
    main()
