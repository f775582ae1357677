"""The PyTorch counterpart of bench_vgg16.cpp: same model, batch, input and optimizer.

Usage: bench_vgg16.py [threads] [batch] [size] [iterations] [fp32|bf16] (defaults 2 32 150 3 fp32).
bf16 is PyTorch's CPU automatic mixed precision, the idiomatic way: torch.autocast("cpu",
dtype=torch.bfloat16) around the forward pass and the loss (BCE-with-logits runs in fp32 under CPU
autocast), backward() and the optimizer step outside it, fp32 weights; extracted features are
converted to fp32, as a script storing them would (and as the runner does).
Prints "<name> <value> <precision>" lines: "features <img/s> <precision>" and
"finetune <img/s> <precision>", and the GFLOP per image of each, "features_gflop <GFLOP> -" and
"finetune_gflop <GFLOP> -" (convolutions only, 2·K²·Cin·Cout·H·W per conv, backward counted as
weight and input gradients of trainable convs; the same in either precision).
"""
import sys
import time

import torch
import torchvision


def conv_flops(features, size):
    """Forward FLOP per image of each conv, in order."""
    flops = []

    def hook(module, inputs, output):
        k = module.kernel_size[0] * module.kernel_size[1]
        c_in = module.in_channels // module.groups
        flops.append(2 * k * c_in * module.out_channels * output.shape[2] * output.shape[3])

    handles = [m.register_forward_hook(hook) for m in features if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        features(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    return flops


def images_per_second(step, batch, iterations):
    step()
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    return batch * iterations / (time.perf_counter() - start)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 150
    iterations = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    precision = sys.argv[5] if len(sys.argv) > 5 else "fp32"
    if precision not in ("fp32", "bf16"):
        sys.exit(f"bench_vgg16.py: precision is fp32 or bf16, not '{precision}'")
    bf16 = precision == "bf16"
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    features = torchvision.models.vgg16().features
    out = features(torch.zeros(1, 3, size, size)).shape
    head = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(out[1] * out[2] * out[3], 512), torch.nn.ReLU(),
        torch.nn.Dropout(0.3), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Dropout(0.3),
        torch.nn.Linear(512, 1))
    images = torch.rand(batch, 3, size, size)
    labels = torch.randint(0, 2, (batch, 1)).float()

    flops = conv_flops(features, size)
    first_trainable = 7  # block4_conv1 is the 8th conv (features.17)
    forward = sum(flops)
    backward = 2 * sum(flops[first_trainable:]) - flops[first_trainable]
    print("features_gflop", forward / 1e9, "-")
    print("finetune_gflop", (forward + backward) / 1e9, "-")

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)

    features.eval()

    def extract():
        with torch.no_grad():
            with autocast():
                out = features(images)
            out.float()

    print("features", images_per_second(extract, batch, iterations), precision, flush=True)

    for i, layer in enumerate(features):
        for p in layer.parameters():
            p.requires_grad = i >= 17
    trainable = [p for p in features.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.RMSprop(trainable, lr=1e-5, alpha=0.9, eps=1e-7)
    features.train()
    head.train()

    def step():
        optimizer.zero_grad()
        with autocast():
            loss = torch.nn.functional.binary_cross_entropy_with_logits(head(features(images)),
                                                                        labels)
        loss.backward()
        optimizer.step()

    print("finetune", images_per_second(step, batch, iterations), precision, flush=True)


if __name__ == "__main__":
    main()
