"""Writes synthetic photo-like JPEGs (500x375, quality 90: the size of a Kaggle cats-vs-dogs photo).

   make_images.py DIR TRAIN_PER_CLASS PREDICT
writes DIR/train/{cat,dog}/*.jpg (TRAIN_PER_CLASS each, to train the benchmark's models on) and
DIR/predict/*.jpg (PREDICT images, what both sides classify). Deterministic: the same arguments
give the same files.
"""
import os
import sys

import numpy as np
from PIL import Image


def photo(rng):
    h, w = 375, 500
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    image = np.zeros((h, w, 3), np.float32)
    for c in range(3):  # a smooth background: a random plane plus low-frequency waves
        a, b, f, g = rng.uniform(-0.3, 0.3, 4)
        image[..., c] = 128 + a * x + b * y + 40 * np.sin(f * x / 20 + g * y / 20 + c)
    for _ in range(12):  # blobs of colour, as objects in a photo
        cy, cx, ry, rx = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(10, 90), rng.uniform(10, 90)
        mask = ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 < 1
        image[mask] = rng.uniform(0, 255, 3)
    image += rng.normal(0, 12, image.shape)  # sensor noise: what makes JPEG decoding work
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))


def main():
    root, per_class, predict = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(2026)
    for label in ("cat", "dog"):
        os.makedirs(os.path.join(root, "train", label), exist_ok=True)
        for i in range(per_class):
            photo(rng).save(os.path.join(root, "train", label, f"{label}.{i}.jpg"), quality=90)
    os.makedirs(os.path.join(root, "predict"), exist_ok=True)
    for i in range(predict):
        photo(rng).save(os.path.join(root, "predict", f"photo{i:05d}.jpg"), quality=90)


main()
