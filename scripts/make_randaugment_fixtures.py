#!/usr/bin/env python3
"""Writes the PIL reference fixtures for the Datasets tests.

Tests/DatasetsTests/Fixtures/
  ra_input.png            a 32x32 RGB test image (shapes, ramps, texture)
  ra_<Op>_<pos|neg>.png   timm's RandAugment op at magnitude 9 (sign + / -)
  resize_<W>x<H>.png      Image.resize((W, H), BICUBIC) of the input

The op bodies and level-to-argument rules copy timm's auto_augment.py
(rand-m9-mstd0.5-inc1: increasing ops, fill = ImageNet mean in 8 bits,
bicubic resampling, translate_pct 0.45). Requires Pillow (pip install pillow).
Run from the repository root: python3 scripts/make_randaugment_fixtures.py
"""
import math
import os

from PIL import Image, ImageEnhance, ImageOps

OUT = os.path.join("Tests", "DatasetsTests", "Fixtures")
FILL = (124, 116, 104)          # round(255 * IMAGENET_DEFAULT_MEAN)
KW = dict(fillcolor=FILL, resample=Image.BICUBIC)
M = 9.0                         # magnitude (level); _LEVEL_DENOM = 10


def make_input(size=32):
    img = Image.new("RGB", (size, size))
    px = img.load()
    for y in range(size):
        for x in range(size):
            r = (x * 255) // (size - 1)
            g = (y * 255) // (size - 1)
            b = 40 + ((x // 4 + y // 4) % 2) * 120
            d = math.hypot(x - 20.5, y - 12.5)
            if d < 7:
                r, g, b = 230, 40, 30
            if 4 <= x < 12 and 18 <= y < 28:
                r, g, b = 20, 20, 220
            px[x, y] = (r, g, b)
    return img


def enhance_factor(sign):
    return max(0.1, 1.0 + sign * (M / 10) * 0.9)


def ops(img, sign):
    w, h = img.size
    lvl = M / 10
    return {
        "AutoContrast": lambda: ImageOps.autocontrast(img),
        "Equalize": lambda: ImageOps.equalize(img),
        "Invert": lambda: ImageOps.invert(img),
        "Rotate": lambda: img.rotate(sign * lvl * 30.0, **KW),
        "PosterizeIncreasing": lambda: ImageOps.posterize(img, 4 - int(lvl * 4)),
        "SolarizeIncreasing": lambda: ImageOps.solarize(img, 256 - int(lvl * 256)),
        "SolarizeAdd": lambda: img.point([min(255, i + int(lvl * 110)) if i < 128 else i for i in range(256)] * 3),
        "ColorIncreasing": lambda: ImageEnhance.Color(img).enhance(enhance_factor(sign)),
        "ContrastIncreasing": lambda: ImageEnhance.Contrast(img).enhance(enhance_factor(sign)),
        "BrightnessIncreasing": lambda: ImageEnhance.Brightness(img).enhance(enhance_factor(sign)),
        "SharpnessIncreasing": lambda: ImageEnhance.Sharpness(img).enhance(enhance_factor(sign)),
        "ShearX": lambda: img.transform(img.size, Image.AFFINE, (1, sign * lvl * 0.3, 0, 0, 1, 0), **KW),
        "ShearY": lambda: img.transform(img.size, Image.AFFINE, (1, 0, 0, sign * lvl * 0.3, 1, 0), **KW),
        "TranslateXRel": lambda: img.transform(img.size, Image.AFFINE, (1, 0, sign * lvl * 0.45 * w, 0, 1, 0), **KW),
        "TranslateYRel": lambda: img.transform(img.size, Image.AFFINE, (1, 0, 0, 0, 1, sign * lvl * 0.45 * h), **KW),
    }


SIGNED = {"Rotate", "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing",
          "SharpnessIncreasing", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel"}


def main():
    os.makedirs(OUT, exist_ok=True)
    img = make_input()
    img.save(os.path.join(OUT, "ra_input.png"))
    for sign, tag in ((1.0, "pos"), (-1.0, "neg")):
        for name, fn in ops(img, sign).items():
            if tag == "neg" and name not in SIGNED:
                continue
            fn().convert("RGB").save(os.path.join(OUT, f"ra_{name}_{tag}.png"))
    for (w, h) in ((20, 20), (48, 40), (17, 32), (9, 61)):
        img.resize((w, h), Image.BICUBIC).save(os.path.join(OUT, f"resize_{w}x{h}.png"))


if __name__ == "__main__":
    main()
