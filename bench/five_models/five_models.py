#!/usr/bin/python3
"""experiments/five_models.yaml written as a plain PyTorch + torchvision script.

The counterpart of `runner experiments/five_models.yaml` for bench/five_models/run.sh: the same
Fashion-MNIST splits, input (28 -> 32 bilinear, 1 channel, pixels / 255), models, heads, losses,
optimizers, batch sizes and epochs, written the way one would port the original notebook
(docs/experiments.md) to PyTorch: tensors in memory, DataLoader, torchvision transforms for
augmentation, a train/validate loop that keeps the weights of the best validation epoch and tests
them at the end.

  0 source_pretrain  narrow VGG16 (width 0.25) + Dense512-Drop.3-Dense512-Drop.3-Dense8, 8 source
                     classes, Adam 1e-3, batch 64
  1 basic_cnn        Conv16-Pool-Conv64-Pool-Conv128-Pool + Dense512 + 1 logit, RMSprop 1e-3
  2 basic_cnn_aug    the same with augmentation, RMSprop 1e-4
  3 vgg_features     source VGG cut after block4_pool, features computed once, head trained on them
  4 vgg_frozen_aug   source VGG cut after block4_pool, frozen inside the model, augmentation,
                     RMSprop 1e-4
  5 vgg_fine_tune    source VGG cut after block4_pool, trainable from block4_conv1 on,
                     augmentation, RMSprop 1e-4

Two classes -> one logit + BCE-with-logits, prediction logit > 0; eight -> softmax cross-entropy.
RMSprop and Adam with the runner's (Keras's) constants: alpha 0.9, eps 1e-7. No early stopping:
every model runs exactly its epochs (run.sh turns the runner's off too). Like the runner, the
weights kept are those of the epoch with the best validation accuracy (the first one on ties).

Where this script cannot be the runner exactly (so accuracies agree only roughly):
  - augmentation is torchvision's RandomAffine + RandomHorizontalFlip: one isotropic scale instead
    of Keras's independent row/column zoom, integer-pixel shifts, and constant 0 fill instead of
    fill_mode nearest (Fashion-MNIST borders are black, so this rarely shows);
  - random streams differ: weights use the runner's init schemes and seeds (42 before the
    backbone, 43 before the head), but shuffling, dropout and augmentation draw from torch's own
    generators, so the two sides train on different batches and reach different accuracies;
  - the 28 -> 32 resize is torchvision's float bilinear rounded to uint8, OpenCV's INTER_LINEAR is
    fixed-point: a pixel may differ by 1.
The split itself is the runner's (same image ids): the split step's algorithm (std::mt19937_64,
Fisher-Yates, per-class streams; runner/src/engine/data/split.cpp) is emulated in pure Python before
any timing starts, because a practitioner's numpy draw would take milliseconds, not the emulation's
fraction of a second. Everything after that is timed, per model: the idx files are read (gzip +
numpy) inside source_pretrain's time and each stage's images are resized inside the first model
that uses them, as the runner does.

Precision: --precision fp32 (default) or bf16. bf16 is PyTorch's CPU automatic mixed precision, the
idiomatic way: torch.autocast("cpu", dtype=torch.bfloat16) around every forward pass (training,
with its loss; validation; test; feature extraction, whose features are stored as fp32), with
backward() and the optimizer step outside it and fp32 weights. The runner's `training.precision:
bf16` computes the same way (its loss is computed outside autocast, in fp32: CPU autocast runs
these losses in fp32 anyway). On a CPU without native bf16 (no AVX512_BF16 / AMX) it is emulated
and many times slower than fp32.

Usage: five_models.py [--threads 2] [--epochs N | --epochs name=N,name=N]
                      [--source-per-class 2000,200,100] [--target-per-class 50,100,500]
                      [--precision fp32|bf16]
Prints one line per model on stdout: name, wall seconds, test accuracy, then key=value details.
Progress goes to stderr.
"""
import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]
SOURCE_CLASSES = ["Trouser", "Pullover", "Dress", "Coat", "Sandal", "Sneaker", "Bag", "Ankle boot"]
TARGET_CLASSES = ["T-shirt/top", "Shirt"]
SEED = 42
SIZE = 32

# What each model is, as experiments/five_models.yaml resolves it (runner run --dry-run).
MODELS = {
    "source_pretrain": dict(stage="source", epochs=5, batch=64, optimizer="adam", lr=1e-3,
                            augment=False),
    "basic_cnn": dict(stage="target", epochs=30, batch=30, optimizer="rmsprop", lr=1e-3,
                      augment=False),
    "basic_cnn_aug": dict(stage="target", epochs=100, batch=30, optimizer="rmsprop", lr=1e-4,
                          augment=True),
    "vgg_features": dict(stage="target", epochs=30, batch=30, optimizer="rmsprop", lr=1e-3,
                         augment=False),
    "vgg_frozen_aug": dict(stage="target", epochs=100, batch=30, optimizer="rmsprop", lr=1e-4,
                           augment=True),
    "vgg_fine_tune": dict(stage="target", epochs=100, batch=30, optimizer="rmsprop", lr=1e-4,
                          augment=True),
}
PER_CLASS = {"source": (2000, 200, 100), "target": (50, 100, 500)}  # train, val, test
AUGMENT = dict(rotation_range=10, width_shift_range=0.1, height_shift_range=0.1, zoom_range=0.1,
               horizontal_flip=True, fill_mode="nearest")
VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


# ---------------------------------------------------------------------------------------------
# The runner's split step, emulated (not timed).

MASK64 = (1 << 64) - 1


class MT19937_64:
    """std::mt19937_64."""

    def __init__(self, seed):
        mt = [seed & MASK64]
        for i in range(1, 312):
            mt.append((6364136223846793005 * (mt[-1] ^ (mt[-1] >> 62)) + i) & MASK64)
        self.mt, self.index = mt, 312

    def _twist(self):
        mt = self.mt
        for i in range(312):
            x = (mt[i] & 0xFFFFFFFF80000000) | (mt[(i + 1) % 312] & 0x7FFFFFFF)
            shifted = x >> 1
            if x & 1:
                shifted ^= 0xB5026F5AA96619E9
            mt[i] = mt[(i + 156) % 312] ^ shifted
        self.index = 0

    def __call__(self):
        if self.index >= 312:
            self._twist()
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & MASK64


def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return h


def shuffled(pool, seed, class_name, pool_name):
    rng = MT19937_64(mix64(seed ^ mix64(fnv1a64(f"{class_name}\0{pool_name}".encode()))))
    items = list(pool)
    for i in range(len(items), 1, -1):
        threshold = ((1 << 64) - i) % i
        x = rng()
        while x < threshold:
            x = rng()
        j = x % i
        items[i - 1], items[j] = items[j], items[i - 1]
    return items


def runner_split(train_labels, test_labels, classes, per_class, seed=SEED):
    """The split step for the idx dataset (it reports train and test subsets): per class, val and
    then train are cut from the class's shuffled train-file pool, test from its shuffled t10k pool.
    Returns {split: (file, index, label) lists}, class-major, indices ascending within a class."""
    n_train, n_val, n_test = per_class
    out = {"train": [], "val": [], "test": []}
    for label, name in enumerate(classes):
        code = FASHION.index(name)
        pool = shuffled(np.flatnonzero(train_labels == code).tolist(), seed, name, "train")
        tests = shuffled(np.flatnonzero(test_labels == code).tolist(), seed, name, "test")
        if n_val + n_train > len(pool) or n_test > len(tests):
            sys.exit(f"class '{name}' has too few images for per_class {per_class}")
        out["val"] += [("train", i, label) for i in sorted(pool[:n_val])]
        out["train"] += [("train", i, label) for i in sorted(pool[n_val:n_val + n_train])]
        out["test"] += [("test", i, label) for i in sorted(tests[:n_test])]
    return out


def read_labels(root, name):
    with gzip.open(os.path.join(root, name), "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=8)


# ---------------------------------------------------------------------------------------------
# Data (timed).

def read_images(root, name):
    with gzip.open(os.path.join(root, name), "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)


def split_tensors(files, samples):
    """uint8 N x 1 x 32 x 32 images (bilinear 28 -> 32) and int64 labels of one split."""
    images = np.stack([files[f][i] for f, i, _ in samples])
    x = TF.resize(torch.from_numpy(images).unsqueeze(1), [SIZE, SIZE],
                  interpolation=T.InterpolationMode.BILINEAR)
    y = torch.tensor([label for _, _, label in samples], dtype=torch.int64)
    return x, y


class Augmented(Dataset):
    """uint8 images augmented one by one, then scaled to [0, 1]."""

    def __init__(self, x, y, transform):
        self.x, self.y, self.transform = x, y, transform

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.transform(self.x[i]).float().div_(255), self.y[i]


def keras_like_augmentation():
    a = AUGMENT
    return T.Compose([
        T.RandomAffine(degrees=a["rotation_range"],
                       translate=(a["width_shift_range"], a["height_shift_range"]),
                       scale=(1 - a["zoom_range"], 1 + a["zoom_range"]),
                       interpolation=T.InterpolationMode.BILINEAR, fill=0),
        T.RandomHorizontalFlip(),
    ])


def loader(x, y, batch, train, augment=False, workers=0):
    if augment:
        dataset = Augmented(x, y, keras_like_augmentation())
        return DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers,
                          persistent_workers=workers > 0)
    if x.dtype == torch.uint8:
        x = x.float().div_(255)
    return DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=train)


# ---------------------------------------------------------------------------------------------
# Models.

def vgg16_features(width=0.25, in_channels=1):
    """VGG16's conv layers with channels x width (rounded half up, >= 1), torchvision's init."""
    layers, channels = [], in_channels
    for v in VGG16:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
            continue
        out = max(1, int(v * width + 0.5))
        layers += [nn.Conv2d(channels, out, 3, padding=1), nn.ReLU(inplace=True)]
        channels = out
    features = nn.Sequential(*layers)
    for m in features.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return features


def vgg_layer(features, block, conv=None):
    """Index in vgg16_features() of blockN_convK, or of blockN_pool when conv is None."""
    stage, k = 1, 1
    for i, m in enumerate(features):
        if isinstance(m, nn.MaxPool2d):
            if stage == block and conv is None:
                return i
            stage, k = stage + 1, 1
        elif isinstance(m, nn.Conv2d):
            if stage == block and k == conv:
                return i
            k += 1
    raise ValueError(f"no block{block} layer {conv}")


def basic_cnn(widths=(16, 64, 128), in_channels=1):
    layers, channels = [], in_channels
    for w in widths:
        conv = nn.Conv2d(channels, w, 3)
        nn.init.xavier_uniform_(conv.weight)
        nn.init.zeros_(conv.bias)
        layers += [conv, nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        channels = w
    return nn.Sequential(*layers)


def dense_head(in_features, units, dropout, outputs):
    """Flatten, [Linear, ReLU, Dropout]..., Linear(outputs); Glorot-uniform weights, zero biases."""
    layers = [nn.Flatten()]
    for u in units:
        layers += [nn.Linear(in_features, u), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_features = u
    layers.append(nn.Linear(in_features, outputs))
    for m in layers:
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return nn.Sequential(*layers)


def flat_size(backbone):
    with torch.no_grad():
        return backbone(torch.zeros(1, 1, SIZE, SIZE)).numel()


# ---------------------------------------------------------------------------------------------
# Training.

PRECISION = "fp32"  # --precision


def autocast():
    """The forward passes' precision: CPU autocast to bfloat16 with --precision bf16."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=PRECISION == "bf16")


def loss_and_predictions(logits, y, classes):
    if classes == 2:
        logits = logits.view(-1)
        return F.binary_cross_entropy_with_logits(logits, y.float()), (logits > 0).long()
    return F.cross_entropy(logits, y), logits.argmax(1)


def evaluate(model, data, classes):
    model.eval()
    loss_sum, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in data:
            with autocast():
                loss, predicted = loss_and_predictions(model(x), y, classes)
            loss_sum += loss.item() * len(y)
            correct += (predicted == y).sum().item()
            n += len(y)
    return loss_sum / n, correct / n


def make_optimizer(spec, parameters):
    parameters = [p for p in parameters if p.requires_grad]
    if spec["optimizer"] == "adam":
        return torch.optim.Adam(parameters, lr=spec["lr"], betas=(0.9, 0.999), eps=1e-7)
    return torch.optim.RMSprop(parameters, lr=spec["lr"], alpha=0.9, eps=1e-7)


def fit(name, model, optimizer, train, val, epochs, classes):
    """Train + validate each epoch; returns with the best-validation-accuracy weights loaded."""
    best_acc, best_state, best_epoch = -1.0, None, 0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        loss_sum, correct, n = 0.0, 0, 0
        for x, y in train:
            optimizer.zero_grad()
            with autocast():
                loss, predicted = loss_and_predictions(model(x), y, classes)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(y)
            correct += (predicted == y).sum().item()
            n += len(y)
        val_loss, val_acc = evaluate(model, val, classes)
        if val_acc > best_acc:
            best_acc, best_epoch = val_acc, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        print(f"{name}: epoch {epoch}/{epochs} loss {loss_sum / n:.4f} acc {correct / n:.3f} "
              f"val_loss {val_loss:.4f} val_acc {val_acc:.3f} {time.perf_counter() - start:.2f}s",
              file=sys.stderr, flush=True)
    if best_state is not None:  # epochs 0: the initial weights, as the runner
        model.load_state_dict(best_state)
    return best_acc, best_epoch


# ---------------------------------------------------------------------------------------------

def parse_epochs(text):
    epochs = {name: spec["epochs"] for name, spec in MODELS.items()}
    if not text:
        return epochs
    if "=" not in text:
        return {name: int(text) for name in epochs}
    for item in text.split(","):
        name, value = item.split("=")
        if name not in epochs:
            sys.exit(f"--epochs: unknown model '{name}'; models: {', '.join(epochs)}")
        epochs[name] = int(value)
    return epochs


def parse_counts(text):
    counts = tuple(int(v) for v in text.split(","))
    if len(counts) != 3:
        sys.exit("per-class counts are TRAIN,VAL,TEST")
    return counts


def default_root():
    for root in ("/usr/share/datasets/fashion-mnist", "/usr/share/dataset-fashion-mnist"):
        if os.path.exists(os.path.join(root, "train-images-idx3-ubyte.gz")):
            return root
    return "/usr/share/datasets/fashion-mnist"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--epochs", default="",
                        help="N for every model, or name=N,name=N (default: the YAML's)")
    parser.add_argument("--source-per-class", default="2000,200,100", help="TRAIN,VAL,TEST")
    parser.add_argument("--target-per-class", default="50,100,500", help="TRAIN,VAL,TEST")
    parser.add_argument("--root", default=default_root(), help="Fashion-MNIST idx .gz folder")
    parser.add_argument("--workers", type=int, default=0,
                        help="DataLoader worker processes for the augmented models (default 0)")
    parser.add_argument("--out", default="", help="folder for the saved state dicts (default: "
                        "a temporary folder, removed at the end)")
    parser.add_argument("--write-splits", default="",
                        help="write the image ids of each stage's splits to this JSON file")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="fp32, or bf16: torch.autocast('cpu', torch.bfloat16) around every "
                        "forward pass (default fp32)")
    parser.add_argument("--print-config", action="store_true",
                        help="print this script's settings as JSON and stop")
    args = parser.parse_args()
    epochs = parse_epochs(args.epochs)
    per_class = {"source": parse_counts(args.source_per_class),
                 "target": parse_counts(args.target_per_class)}
    if args.print_config:
        config = {name: dict(spec, epochs=epochs[name], per_class=per_class[spec["stage"]])
                  for name, spec in MODELS.items()}
        print(json.dumps({"models": config, "augment": AUGMENT}, indent=1))
        return

    global PRECISION
    PRECISION = args.precision
    torch.set_num_threads(args.threads)
    print(f"precision: {PRECISION}", file=sys.stderr)
    out_dir = args.out or tempfile.mkdtemp(prefix="five_models_py.")
    os.makedirs(out_dir, exist_ok=True)
    files_of = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}

    # Which images: the runner's split step (not timed; see the header).
    start = time.perf_counter()
    labels = {f: read_labels(args.root, names[1]) for f, names in files_of.items()}
    splits = {"source": runner_split(labels["train"], labels["test"], SOURCE_CLASSES,
                                     per_class["source"]),
              "target": runner_split(labels["train"], labels["test"], TARGET_CLASSES,
                                     per_class["target"])}
    print(f"split indices (runner's algorithm, not timed): {time.perf_counter() - start:.2f}s",
          file=sys.stderr)
    if args.write_splits:
        ids = {f: names[0][:-3] for f, names in files_of.items()}
        with open(args.write_splits, "w") as f:
            json.dump({stage: {s: [f"{ids[file]}#{i}" for file, i, _ in samples]
                               for s, samples in split.items()}
                       for stage, split in splits.items()}, f)

    files = None
    tensors = {}  # stage -> split -> (x uint8, y)
    source_state = None
    for name, spec in MODELS.items():
        stage = spec["stage"]
        classes = len(SOURCE_CLASSES if stage == "source" else TARGET_CLASSES)
        outputs = 1 if classes == 2 else classes
        started = time.perf_counter()
        if files is None:
            files = {f: read_images(args.root, names[0]) for f, names in files_of.items()}
        if stage not in tensors:
            tensors[stage] = {s: split_tensors(files, samples)
                              for s, samples in splits[stage].items()}
        data = tensors[stage]
        batch = spec["batch"]

        torch.manual_seed(SEED)
        if name == "basic_cnn" or name == "basic_cnn_aug":
            backbone = basic_cnn()
        else:
            backbone = vgg16_features()
            if name != "source_pretrain":
                backbone.load_state_dict(source_state)
        torch.manual_seed(SEED + 1)

        if name == "vgg_features":
            backbone = backbone[:vgg_layer(backbone, 4) + 1].eval()  # through block4_pool
            for p in backbone.parameters():
                p.requires_grad_(False)
            features = {}
            with torch.no_grad():
                for s, (x, y) in data.items():
                    xs = x.float().div_(255)
                    with autocast():
                        parts = [backbone(xs[i:i + 64]) for i in range(0, len(xs), 64)]
                    features[s] = (torch.cat(parts).float(), y)  # stored fp32
            model = dense_head(features["train"][0][0].numel(), [512, 512], 0.3, outputs)
            train = loader(*features["train"], batch, train=True)
            val = loader(*features["val"], batch, train=False)
            test = loader(*features["test"], batch, train=False)
        else:
            if name in ("vgg_frozen_aug", "vgg_fine_tune"):
                backbone = backbone[:vgg_layer(backbone, 4) + 1]  # cut after block4_pool
            if name.startswith("basic_cnn"):
                head = dense_head(flat_size(backbone), [512], 0.0, outputs)
            else:
                head = dense_head(flat_size(backbone), [512, 512], 0.3, outputs)
            if name == "vgg_frozen_aug":
                for p in backbone.parameters():
                    p.requires_grad_(False)
            elif name == "vgg_fine_tune":
                first = vgg_layer(backbone, 4, 1)  # block4_conv1
                for i, layer in enumerate(backbone):
                    for p in layer.parameters():
                        p.requires_grad_(i >= first)
            model = nn.Sequential(backbone, head)
            train = loader(*data["train"], batch, train=True, augment=spec["augment"],
                           workers=args.workers)
            val = loader(*data["val"], batch, train=False)
            test = loader(*data["test"], batch, train=False)

        optimizer = make_optimizer(spec, model.parameters())
        best_val, best_epoch = fit(name, model, optimizer, train, val, epochs[name], classes)
        _, test_acc = evaluate(model, test, classes)
        torch.save(model.state_dict(), os.path.join(out_dir, f"{name}.pt"))
        if name == "source_pretrain":
            source_state = {k: v.clone() for k, v in backbone.state_dict().items()}
        seconds = time.perf_counter() - started
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        print(f"{name} {seconds:.3f} {test_acc:.4f} epochs={epochs[name]} "
              f"best_epoch={best_epoch} best_val={best_val:.4f} train={len(data['train'][1])} "
              f"val={len(data['val'][1])} test={len(data['test'][1])} trainable={trainable} "
              f"precision={PRECISION}",
              flush=True)
    if not args.out:
        shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
