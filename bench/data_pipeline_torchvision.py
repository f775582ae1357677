#!/usr/bin/python3
"""The same pipeline as bench_data_pipeline's cold epoch, the way a PyTorch user writes it.

torchvision.datasets.ImageFolder (PIL decode at full size, converted to RGB: no Image.draft, which
a plain torchvision pipeline does not call) -> Resize((150, 150)) -> RandomAffine (rotation 50,
translate 0.2, scale 0.7-1.3, shear 0.2) -> RandomHorizontalFlip -> ToTensor, through a torch
DataLoader with T worker processes, batches of 30, shuffled. Reads the JPEGs bench_data_pipeline
wrote (--dir, --keep: one folder per class).

    data_pipeline_torchvision.py --dir PATH --threads T [--draft]
Prints "cold_images_per_s <rate>" (best of three epochs after a warm-up epoch; every epoch decodes,
resizes and augments every image, so each is a cold epoch).

--draft: a tuned pipeline instead, for reference: the loader calls PIL's Image.draft("RGB",
(150, 150)) before decoding, so libjpeg decodes at the smallest 1/2, 1/4 or 1/8 scale that is still
at least 150 x 150 (the rule the runner's image_folder uses).
"""
import argparse
import os
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


def draft_loader(path):
    with open(path, "rb") as f:
        img = Image.open(f)
        img.draft("RGB", (150, 150))
        return img.convert("RGB")


def one_thread(_):
    torch.set_num_threads(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--draft", action="store_true")
    args = parser.parse_args()
    transform = transforms.Compose([
        transforms.Resize((150, 150)),
        transforms.RandomAffine(degrees=50, translate=(0.2, 0.2), scale=(0.7, 1.3), shear=0.2,
                                interpolation=transforms.InterpolationMode.BILINEAR),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
    ])
    torch.set_num_threads(1)
    if args.draft:
        data = datasets.ImageFolder(args.dir, transform, loader=draft_loader)
    else:
        data = datasets.ImageFolder(args.dir, transform)
    loader = DataLoader(data, batch_size=30, shuffle=True, num_workers=args.threads,
                        persistent_workers=args.threads > 0, worker_init_fn=one_thread)
    best = 0.0
    for rep in range(4):
        start = time.perf_counter()
        seen = sum(x.shape[0] for x, _ in loader)
        rate = seen / (time.perf_counter() - start)
        if rep > 0:
            best = max(best, rate)
    print("images %d threads %d (torchvision %s ImageFolder%s + DataLoader)" % (
        len(data), args.threads, __import__("torchvision").__version__,
        ", PIL draft" if args.draft else ""))
    print("cold_images_per_s %.1f" % best)


if __name__ == "__main__":
    main()
