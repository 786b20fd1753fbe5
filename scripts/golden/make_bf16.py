#!/usr/bin/env python3
"""bf16 golden data for cnx (issue 16): the small ConvNeXt with Flax
`dtype=jnp.bfloat16` (float32 params, LayerScale gamma in bf16 as the seed's
LayerScale creates it), and the same in float32, so that cnx bf16 can be
checked against JAX bf16 and its error against JAX float32 compared with
JAX bf16's own.

Writes Tests/ModelsTests/Fixtures/bf16.{json,safetensors}. Run from the
repository root, beside ../shared (reference code and golden data), in a
venv with jax==0.10.2 jaxlib==0.10.2 flax==0.12.8 optax==0.2.8 safetensors
numpy (the versions of ../shared/golden/manifest.json):

    python scripts/golden/make_bf16.py [--hlo DIR]

Model, input, labels and rngs are the dev golden's small case
(../shared/golden/README.md): small_input.safetensors, the seed's step-0
rngs, and two parameter sets: `init` (small_init_params) and `alt` (adamw
step 10, optax_adamw.safetensors params_step10), whose LayerScales are
~1e-2 so the block branches matter. The loss casts the bf16 logits to
float32 first (the recipe computes its loss in float32).

Cases (prefix/...): logits [4,10] (bf16 values stored as float32), loss,
grads/<path> (float32; the bf16 gamma's gradient is a bf16 value):
  bf16_<p>_<mode>     dtype bf16, gamma bf16             p in init, alt; mode eval, train
  f32_<p>_<mode>      dtype float32
  bf16g32_alt_train   dtype bf16 but gamma float32 (the quirk switched off)
--hlo DIR also writes the optimised XLA:CPU HLO of the bf16 value_and_grad
programs (for docs/bf16.md).
"""
import argparse
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
from flax import traverse_util  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

import make_golden as mg  # noqa: E402  (sets the recorded JAX flags)
import convnext_flax as ref  # noqa: E402

OUT = os.path.join(REPO, "Tests", "ModelsTests", "Fixtures")
GOLDEN = os.path.join(REPO, "..", "shared", "golden")
CFG = dict(stage_sizes=[1, 1, 2, 1], num_filters=[16, 32, 48, 64], num_classes=10,
           init_stochastic_depth_rate=0.1, image_size=32, batch=4, seed=42)
GAMMA = "LayerScale_0"


def tree(flat_dict):
    return traverse_util.unflatten_dict({tuple(k.split("/")): jnp.asarray(v) for k, v in flat_dict.items()})


def with_gamma(params, dtype):
    flat = traverse_util.flatten_dict(params)
    return traverse_util.unflatten_dict({k: (v.astype(dtype) if GAMMA in k[-2] else v) for k, v in flat.items()})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hlo", default=None)
    args = ap.parse_args()
    inp = load_file(os.path.join(GOLDEN, "small_input.safetensors"))
    init = load_file(os.path.join(GOLDEN, "small_init_params.safetensors"))
    alt_all = load_file(os.path.join(GOLDEN, "optax_adamw.safetensors"))
    alt = {k[len("params_step10/"):]: v for k, v in alt_all.items() if k.startswith("params_step10/")}
    x, labels = jnp.asarray(inp["x"]), jnp.asarray(inp["labels"])
    _, _, _, train_rng = ref.seed_rng_streams(CFG["seed"])
    d_rng, sd_rng, _ = ref.train_step_rngs(jax.random.split(train_rng, 1)[0])
    rngs = {"dropout": d_rng, "stochastic_depth": sd_rng}

    def model(dtype):
        return ref.ConvNeXt(stage_sizes=CFG["stage_sizes"], num_filters=CFG["num_filters"],
                            num_classes=CFG["num_classes"],
                            init_stochastic_depth_rate=CFG["init_stochastic_depth_rate"], dtype=dtype)

    def program(mdl, train):
        def loss_fn(p, xx, yy):
            logits = mdl.apply({"params": p}, xx, train=train, rngs=rngs if train else None)
            logits = logits.astype(jnp.float32)
            return ref.softmax_cross_entropy_mean(logits, yy), logits
        return jax.jit(jax.value_and_grad(loss_fn, has_aux=True))

    tensors, record = {}, {}
    cases = []
    for pname, pflat in (("init", init), ("alt", alt)):
        for mode in ("eval", "train"):
            cases.append((f"bf16_{pname}_{mode}", jnp.bfloat16, jnp.bfloat16, pflat, mode == "train"))
            cases.append((f"f32_{pname}_{mode}", jnp.float32, jnp.float32, pflat, mode == "train"))
    cases.append(("bf16g32_alt_train", jnp.bfloat16, jnp.float32, alt, True))
    for name, dtype, gdtype, pflat, train in cases:
        params = with_gamma(tree(pflat), gdtype)
        fn = program(model(dtype), train)
        (loss, logits), grads = fn(params, x, labels)
        if args.hlo and name in ("bf16_alt_train", "bf16_alt_eval", "bf16g32_alt_train"):
            os.makedirs(args.hlo, exist_ok=True)
            with open(os.path.join(args.hlo, name + ".hlo"), "w") as f:
                f.write(fn.lower(params, x, labels).compile().as_text())
        tensors[f"{name}/logits"] = np.asarray(logits, np.float32)
        tensors[f"{name}/loss"] = np.asarray(loss, np.float32).reshape(1)
        for k, v in traverse_util.flatten_dict(grads).items():
            tensors[f"{name}/grads/" + "/".join(k)] = np.asarray(v.astype(jnp.float32))
        record[name] = dict(loss=float(loss), loss_bits=mg.f32(loss)["bits"],
                            gamma_grad_dtype=str(grads["ConvNeXtBackbone_0"]["BottleneckConvNeXtBlock_01_01"][GAMMA]["scale"].dtype))
        print(name, float(loss))
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "bf16.safetensors")
    save_file(tensors, path)
    out = dict(generator="scripts/golden/make_bf16.py", config=CFG, cases=record,
               keys=dict(dropout=mg.keydata(d_rng), stochastic_depth=mg.keydata(sd_rng)),
               versions=dict(jax=jax.__version__, optax=optax.__version__, numpy=np.__version__),
               safetensors_sha256=hashlib.sha256(open(path, "rb").read()).hexdigest())
    with open(os.path.join(OUT, "bf16.json"), "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
