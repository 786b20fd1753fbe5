#!/usr/bin/env python3
"""bf16 optimizer golden data for cnx (issue 16): what optax does to a
parameter held in bfloat16 (a bf16 model's LayerScale gamma, docs/bf16.md),
beside float32 parameters, under jax.jit as the seed's train step runs it.

Writes Tests/OptimizersTests/Fixtures/bf16_optimizer.{json,safetensors}.
Run from the repository root, beside ../shared (reference code), in a venv
with jax==0.10.2 jaxlib==0.10.2 flax==0.12.8 optax==0.2.8 safetensors numpy
ml_dtypes (the versions of ../shared/golden/manifest.json):

    python scripts/golden/make_bf16_optimizer.py

The tree (LEAVES): two LayerScale gammas in bf16 (one at the seed's init
1e-6, one random), a bf16 Dense kernel that the seed's mask decays (cnx
holds no such leaf, but the optimizer must handle a decayed bf16 leaf too),
and a float32 kernel and bias. Gradients are deterministic normals, bf16
for the bf16 leaves (a bf16 parameter's gradient is bf16). Three runs of
CALLS calls each, update + apply_updates + the EMA in one jit, as the
seed's train step (scripts/golden/make_trajectory.py):

  adamw       ref.make_optimizer(schedule, k=1) = optax.adamw(..., mask=seed rule),
              EMA ref.ema_v2(0.9999) on the new parameters
  multisteps  optax.MultiSteps(adamw, K), EMA optax.MultiSteps(ema_v2(0.9999), K)
  clip        chain(clip_by_global_norm(CLIP), adamw), EMA ema_v2

Recorded (float32 tensors; bf16 leaves stored as BF16):
  init/<leaf>, grads<i>/<leaf> (i = 1..CALLS)
  <run>/step<s>/{params,mu,nu,acc,ema}/<leaf> after call s for s in RECORDED
  (acc only for multisteps: MultiSteps' float32 accumulator).
"""
import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "..", "shared", "reference"))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import ml_dtypes  # noqa: E402
import optax  # noqa: E402
from flax import traverse_util  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

import make_golden as mg  # noqa: E402,F401  (sets the recorded JAX flags)
import convnext_flax as ref  # noqa: E402

OUT = os.path.join(REPO, "Tests", "OptimizersTests", "Fixtures")
LEAVES = {  # path: (shape, dtype, init scale; 0 = the seed's gamma init 1e-6)
    "stages_0/block_0/LayerScale_0/scale": ([24], "bf16", 0.0),
    "stages_0/block_1/LayerScale_0/scale": ([40], "bf16", 1e-2),
    "stages_0/block_0/Conv_2/kernel": ([16, 8], "bf16", 0.1),
    "stages_0/block_0/Conv_1/kernel": ([8, 16], "f32", 0.1),
    "stages_0/block_0/Conv_1/bias": ([16], "f32", 0.02),
}
CFG = dict(calls=12, accumulate=2, weight_decay=0.05, eps=1e-8, ema_decay=0.9999, clip=0.05, seed=16,
           recorded=[1, 2, 3, 4, 7, 12],
           schedule=dict(init_value=1e-4, peak_value=4e-3, warmup_steps=3, decay_steps=10, end_value=1e-6))


def dtype(name):
    return jnp.bfloat16 if name == "bf16" else jnp.float32


def tree(values):
    return traverse_util.unflatten_dict({tuple(k.split("/")): jnp.asarray(v) for k, v in values.items()})


def flat(t):
    return {"/".join(k): np.asarray(v) for k, v in traverse_util.flatten_dict(t).items()}


def stored(x):
    """bf16 arrays stay bf16 (safetensors BF16), everything else float32."""
    x = np.asarray(x)
    return x if x.dtype == ml_dtypes.bfloat16 else x.astype(np.float32)


def inputs():
    rng = np.random.default_rng(CFG["seed"])
    init = {}
    for path, (shape, dt, scale) in LEAVES.items():
        v = np.full(shape, 1e-6, np.float32) if scale == 0 else (rng.standard_normal(shape) * scale).astype(np.float32)
        init[path] = v.astype(ml_dtypes.bfloat16) if dt == "bf16" else v
    grads = []
    for i in range(CFG["calls"]):
        g = {}
        for path, (shape, dt, _) in LEAVES.items():
            # Varying scales so some steps are large against the moments and some small.
            v = (rng.standard_normal(shape) * (0.05 if i % 3 else 0.5)).astype(np.float32)
            g[path] = v.astype(ml_dtypes.bfloat16) if dt == "bf16" else v
        grads.append(g)
    return init, grads


def run(name, init, grads, tensors):
    schedule = optax.warmup_cosine_decay_schedule(**CFG["schedule"])
    k = CFG["accumulate"] if name == "multisteps" else 1
    tx = ref.make_optimizer(schedule, CFG["weight_decay"], CFG["eps"], gradient_accumulation_steps=k)
    if name == "clip":
        tx = optax.chain(optax.clip_by_global_norm(CFG["clip"]), tx)
    ema_tx = ref.ema_v2(CFG["ema_decay"])
    if k > 1:
        ema_tx = optax.MultiSteps(ema_tx, k)

    @jax.jit
    def step(p, st, ema_st, g):
        u, st = tx.update(g, st, p)
        p = optax.apply_updates(p, u)
        _, ema_st = ema_tx.update(p, ema_st)
        return p, st, ema_st

    p = tree(init)
    st, ema_st = tx.init(p), ema_tx.init(p)
    counts = {}
    for s in range(1, CFG["calls"] + 1):
        p, st, ema_st = step(p, st, ema_st, tree(grads[s - 1]))
        if s not in CFG["recorded"]:
            continue
        adam = st.inner_opt_state[0] if k > 1 else (st[1][0] if name == "clip" else st[0])
        ema = ema_st.inner_opt_state if k > 1 else ema_st
        parts = dict(params=p, mu=adam.mu, nu=adam.nu, ema=ema.ema)
        if k > 1:
            parts["acc"] = st.acc_grads
        for part, t in parts.items():
            for path, v in flat(t).items():
                tensors[f"{name}/step{s}/{part}/{path}"] = stored(v)
        counts[s] = dict(adam=int(adam.count), ema=int(ema.count),
                         mini_step=int(st.mini_step) if k > 1 else None)
    dtypes = {part: {path: str(v.dtype) for path, v in flat(t).items()}
              for part, t in dict(mu=adam.mu, nu=adam.nu, ema=ema.ema).items()}
    if k > 1:
        dtypes["acc"] = {path: str(v.dtype) for path, v in flat(st.acc_grads).items()}
    return dict(accumulate=k, counts=counts, state_dtypes=dtypes)


def main():
    os.makedirs(OUT, exist_ok=True)
    init, grads = inputs()
    tensors = {f"init/{k}": stored(v) for k, v in init.items()}
    for i, g in enumerate(grads):
        tensors.update({f"grads{i + 1}/{k}": stored(v) for k, v in g.items()})
    record = dict(generator="scripts/golden/make_bf16_optimizer.py", config=CFG,
                  leaves={k: dict(shape=s, dtype=d) for k, (s, d, _) in LEAVES.items()},
                  versions=dict(jax=jax.__version__, optax=optax.__version__, numpy=np.__version__))
    record["runs"] = {name: run(name, init, grads, tensors) for name in ("adamw", "multisteps", "clip")}
    path = os.path.join(OUT, "bf16_optimizer.safetensors")
    save_file(tensors, path)
    record["safetensors_sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    with open(os.path.join(OUT, "bf16_optimizer.json"), "w") as f:
        json.dump(record, f, indent=1)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
