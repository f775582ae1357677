#!/usr/bin/python3
"""The same pipeline as bench_data_pipeline's cold pass, the way a PyTorch user writes it.

PIL decode -> Resize((150, 150)) -> RandomAffine (rotation 50, translate 0.2, scale 0.7-1.3,
shear 0.2) -> RandomHorizontalFlip -> ToTensor, through a torch DataLoader with T worker
processes and batches of 30. Reads the JPEGs bench_data_pipeline wrote (--dir, --keep).

    data_pipeline_torchvision.py --dir PATH --threads T
Prints "cold_images_per_s <rate>" (best of three passes after a warm-up pass).
"""
import argparse
import glob
import os
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms


class JpegFolder(Dataset):
    def __init__(self, files, transform):
        self.files = files
        self.transform = transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        with Image.open(self.files[i]) as img:
            return self.transform(img.convert("RGB")), i % 2


def one_thread(_):
    torch.set_num_threads(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.dir, "*.jpg")))
    transform = transforms.Compose([
        transforms.Resize((150, 150)),
        transforms.RandomAffine(degrees=50, translate=(0.2, 0.2), scale=(0.7, 1.3), shear=0.2,
                                interpolation=transforms.InterpolationMode.BILINEAR),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
    ])
    torch.set_num_threads(1)
    loader = DataLoader(JpegFolder(files, transform), batch_size=30, shuffle=True,
                        num_workers=args.threads, persistent_workers=args.threads > 0,
                        worker_init_fn=one_thread)
    best = 0.0
    for rep in range(4):
        start = time.perf_counter()
        seen = sum(x.shape[0] for x, _ in loader)
        rate = seen / (time.perf_counter() - start)
        if rep > 0:
            best = max(best, rate)
    print("images %d threads %d (torchvision %s)" % (len(files), args.threads,
                                                       __import__("torchvision").__version__))
    print("cold_images_per_s %.1f" % best)


if __name__ == "__main__":
    main()
