#!/usr/bin/env python3
"""Whole-run golden data for cnx (issue 20): a 100-mini-step JAX/Flax/Optax
training trajectory of the small ConvNeXt with the seed's training keys, and
100 identical-gradient optimizer calls through adamw and MultiSteps(adamw).

Writes Tests/TrainingTests/Fixtures/trajectory.{json,safetensors}. Run from
the repository root, beside ../shared (reference code and golden data), in a
venv with jax==0.10.2 jaxlib==0.10.2 flax==0.12.8 optax==0.2.8 safetensors
numpy (the versions of ../shared/golden/manifest.json):

    python scripts/golden/make_trajectory.py

The train step is the seed's train.py `train_step` for one device:
    dropout_rng, stochastic_depth_rng, next_rng = split(rng, 3)
    loss, grads = value_and_grad(mean softmax cross-entropy, soft labels)
    state = apply_gradients(grads)            # MultiSteps(adamw(...), 4)
    ema_state = MultiSteps(ema_v2(0.9999), 4).update(new params)
with rng = split(split(PRNGKey(42), 4)[3], 1)[0] at step 0. Batches are
arguments of the jitted step (closed-over constants get folded and JAX stops
being bit-reproducible). Re-running reproduces every tensor bit for bit.
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
import optax  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

import make_golden as mg  # noqa: E402  (sets the recorded JAX flags)
import convnext_flax as ref  # noqa: E402

OUT = os.path.join(REPO, "Tests", "TrainingTests", "Fixtures")
GOLDEN = os.path.join(REPO, "..", "shared", "golden")

CFG = dict(stage_sizes=[1, 1, 2, 1], num_filters=[16, 32, 48, 64], num_classes=10,
           init_stochastic_depth_rate=0.1, image_size=32, batch=8, n_batches=4,
           data_seed=1, mix_lambda=0.7, label_smoothing=0.1, seed=42,
           mini_steps=100, accumulate=4, ema_decay=0.9999, weight_decay=0.05, eps=1e-8,
           schedule=dict(init_value=1e-4, peak_value=4e-3, warmup_steps=5, decay_steps=25, end_value=1e-6),
           optim_calls=100,
           optim_schedule=dict(init_value=1e-4, peak_value=4e-3, warmup_steps=10, decay_steps=100, end_value=1e-6))


def f32bits(x):
    return int(np.asarray(x, np.float32).view(np.uint32))


def batches():
    rng = np.random.default_rng(CFG["data_seed"])
    B, H, C = CFG["batch"], CFG["image_size"], CFG["num_classes"]
    out = []
    for _ in range(CFG["n_batches"]):
        x = rng.uniform(-1.0, 1.0, size=(B, H, H, 3)).astype(np.float32)
        labels = rng.integers(0, C, size=(B,))
        eps = CFG["label_smoothing"]
        off = eps / C
        onehot = np.full((B, C), off, dtype=np.float32)
        onehot[np.arange(B), labels] = np.float32(1.0 - eps + off)
        lam = np.float32(CFG["mix_lambda"])
        mixed = (onehot * lam + onehot[::-1] * (np.float32(1.0) - lam)).astype(np.float32)
        out.append((x, mixed))
    return out


def flat(tree, prefix):
    return {prefix + k: np.asarray(v) for k, v in ref.flatten_params(tree).items()}


def trajectory(tensors):
    model = ref.ConvNeXt(stage_sizes=CFG["stage_sizes"], num_filters=CFG["num_filters"],
                         num_classes=CFG["num_classes"],
                         init_stochastic_depth_rate=CFG["init_stochastic_depth_rate"])
    params = ref.seed_init(model, CFG["seed"], CFG["image_size"])
    k = CFG["accumulate"]
    schedule = optax.warmup_cosine_decay_schedule(**CFG["schedule"])
    lr_at = jax.jit(schedule)   # as the optimizer computes it: float32 under jit
    tx = ref.make_optimizer(schedule, CFG["weight_decay"], CFG["eps"], gradient_accumulation_steps=k)
    ema_tx = optax.MultiSteps(ref.ema_v2(CFG["ema_decay"]), k)
    opt_state, ema_state = tx.init(params), ema_tx.init(params)
    _, _, _, train_rng = ref.seed_rng_streams(CFG["seed"])
    rng = jax.random.split(train_rng, 1)[0]           # one device: device 0's key

    @jax.jit
    def step(params, opt_state, ema_state, rng, x, labels):
        dropout_rng, sd_rng, next_rng = jax.random.split(rng, 3)

        def loss_fn(p):
            logits = model.apply({"params": p}, x, rngs={"dropout": dropout_rng, "stochastic_depth": sd_rng})
            return ref.softmax_cross_entropy_mean(logits, labels)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        _, ema_state = ema_tx.update(params, ema_state)
        return params, opt_state, ema_state, next_rng, loss, dropout_rng, sd_rng

    data = batches()
    for i, (x, y) in enumerate(data):
        tensors[f"batch{i}/x"], tensors[f"batch{i}/labels"] = x, y
    steps = []
    for s in range(CFG["mini_steps"]):
        x, y = data[s % len(data)]
        mini = int(opt_state.mini_step)
        count = int(opt_state.inner_opt_state[2].count)   # scale_by_learning_rate's schedule count
        params, opt_state, ema_state, rng_next, loss, d_rng, sd_rng = step(params, opt_state, ema_state, rng,
                                                                           jnp.asarray(x), jnp.asarray(y))
        masks = mg.predicted_sd_masks(dict(stage_sizes=CFG["stage_sizes"]), CFG["init_stochastic_depth_rate"],
                                      sd_rng, CFG["batch"])
        steps.append(dict(
            step=s, batch=s % len(data), loss=float(loss), loss_bits=f32bits(loss),
            mini_step=mini, emits=mini == k - 1, schedule_count=count,
            learning_rate=float(lr_at(count)), learning_rate_bits=f32bits(lr_at(count)),
            rng=mg.keydata(rng), dropout=mg.keydata(d_rng), stochastic_depth=mg.keydata(sd_rng),
            kept={m["block"]: m["kept"] for m in masks if m["has_module"]}))
        rng = rng_next
        if s == k - 1:
            tensors.update(flat(params, "params_step4/"))
    inner = opt_state.inner_opt_state
    tensors.update(flat(params, "params/"))
    tensors.update(flat(inner[0].mu, "mu/"))
    tensors.update(flat(inner[0].nu, "nu/"))
    tensors.update(flat(ema_state.inner_opt_state.ema, "ema/"))
    return dict(steps=steps, adam_count=int(inner[0].count), ema_count=int(ema_state.inner_opt_state.count),
                gradient_step=int(opt_state.gradient_step))


def optim_calls(tensors):
    """100 calls with the same gradients (small_eval's) from small_init_params,
    update and apply_updates in one jit: plain adamw and MultiSteps(adamw, 4)."""
    init = load_file(os.path.join(GOLDEN, "small_init_params.safetensors"))
    ev = load_file(os.path.join(GOLDEN, "small_eval.safetensors"))
    from flax import traverse_util
    params = traverse_util.unflatten_dict({tuple(k.split("/")): jnp.asarray(v) for k, v in init.items()})
    grads = traverse_util.unflatten_dict({tuple(k[len("grads/"):].split("/")): jnp.asarray(v)
                                          for k, v in ev.items() if k.startswith("grads/")})
    schedule = optax.warmup_cosine_decay_schedule(**CFG["optim_schedule"])
    out = {}
    for name, k in (("adamw", 1), ("multisteps", 4)):
        tx = ref.make_optimizer(schedule, CFG["weight_decay"], CFG["eps"], gradient_accumulation_steps=k)

        @jax.jit
        def call(p, st, g):
            u, st = tx.update(g, st, p)
            return optax.apply_updates(p, u), st

        p, st = params, tx.init(params)
        for _ in range(CFG["optim_calls"]):
            p, st = call(p, st, grads)
        adam = st[0] if k == 1 else st.inner_opt_state[0]
        tensors.update(flat(p, f"{name}/params/"))
        tensors.update(flat(adam.mu, f"{name}/mu/"))
        tensors.update(flat(adam.nu, f"{name}/nu/"))
        out[name] = dict(adam_count=int(adam.count))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    tensors = {}
    record = dict(generator="scripts/golden/make_trajectory.py", config=CFG,
                  versions=dict(jax=jax.__version__, optax=optax.__version__, numpy=np.__version__))
    record["trajectory"] = trajectory(tensors)
    record["optim"] = optim_calls(tensors)
    path = os.path.join(OUT, "trajectory.safetensors")
    save_file(tensors, path)
    record["safetensors_sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    with open(os.path.join(OUT, "trajectory.json"), "w") as f:
        json.dump(record, f, indent=1)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
