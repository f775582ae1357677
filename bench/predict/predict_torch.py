"""The plain PyTorch side of bench/predict/run.sh: classify a folder of JPEGs with a model that
`runner export` wrote, as a PyTorch user would: the layout rebuilt with torch.nn (README's recipe),
torchvision's transforms (Resize, ToTensor, Normalize), a DataLoader, softmax/sigmoid per batch.

   predict_torch.py MODEL.json MODEL.pth FOLDER THREADS BATCH WORKERS fp32|bf16
prints "img_per_s R" and "seconds S": R counts from the first batch requested to the last
probabilities computed, as `runner predict --verbose` does (model loading excluded on both sides).
bf16 runs the forward pass under torch.autocast("cpu", dtype=torch.bfloat16).
"""
import json
import os
import sys
import time
from collections import OrderedDict

import torch
from PIL import Image
from torch import nn
from torchvision import transforms


def build(spec):
    if spec["type"] == "Sequential":
        return nn.Sequential(OrderedDict((c["name"], build(c)) for c in spec["children"]))
    return getattr(nn, spec["type"])(**spec["kwargs"])


class Photos(torch.utils.data.Dataset):
    def __init__(self, paths, transform, mode):
        self.paths, self.transform, self.mode = paths, transform, mode

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as image:
            return self.transform(image.convert(self.mode))


def main():
    meta_path, weights, folder = sys.argv[1:4]
    threads, batch, workers = (int(a) for a in sys.argv[4:7])
    precision = sys.argv[7]
    torch.set_num_threads(threads)
    meta = json.load(open(meta_path))
    model = build(meta["layout"]).eval()
    model.load_state_dict(torch.load(weights))
    p = meta["preprocessing"]
    transform = transforms.Compose([
        transforms.Resize((p["size"][0], p["size"][1])),
        transforms.ToTensor(),  # x / 255: the exported scale is 1/255 for these models
        transforms.Normalize(p["mean"], p["std"]),
    ])
    assert abs(p["scale"] - 1 / 255) < 1e-9, "ToTensor scales by 1/255"
    paths = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".jpg"))
    loader = torch.utils.data.DataLoader(Photos(paths, transform, "RGB" if p["channels"] == 3 else "L"),
                                         batch_size=batch, num_workers=workers)
    predicted = 0
    start = time.perf_counter()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        for x in loader:
            logits = model(x).float()
            probabilities = torch.sigmoid(logits) if meta["output"] == "sigmoid" else torch.softmax(logits, 1)
            predicted += probabilities.shape[0]
    seconds = time.perf_counter() - start
    assert predicted == len(paths)
    print(f"img_per_s {predicted / seconds:.4f}")
    print(f"seconds {seconds:.4f}")


main()
