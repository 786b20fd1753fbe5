#!/usr/bin/env python3
"""PyTorch reference for `cnx bench train|infer` (issue 11; docs/performance.md).

Times ConvNeXt-Tiny (torchvision's, same architecture as cnx's) on a fixed
random batch: warm-up steps, then N timed steps, and prints one JSON object
with the same keys as `cnx bench … --json` (img_s = median, min, max, step
seconds, peak RSS). Optional: never part of the tests; needs `pip install
torch torchvision` (CPU wheels are enough).

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
    args = ap.parse_args()

    import torch
    import torchvision

    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    model = getattr(torchvision.models, f"convnext_{args.model}")(num_classes=args.classes)
    if args.compile:
        model = torch.compile(model)
    x = torch.randn(args.batch, 3, args.image_size, args.image_size)
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
        "bench": args.mode, "system": f"torch {torch.__version__}" + (" compile" if args.compile else "") + (" bf16" if args.bf16 else ""),
        "model": args.model, "batch": args.batch, "image_size": args.image_size, "steps": args.steps,
        "warmup": args.warmup, "threads": torch.get_num_threads(),
        "img_s": round(statistics.median(ips), 2), "img_s_min": round(min(ips), 2), "img_s_max": round(max(ips), 2),
        "step_s": round(statistics.median(times), 4), "peak_rss_mib": round(peak_kib / 1024),
        "load_avg": list(os.getloadavg()),
    }))


if __name__ == "__main__":
    main()
