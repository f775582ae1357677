"""Writes the reference files of the model parity tests into the folder given as argv[1].

torchvision models with random weights (fixed seed, randomised BatchNorm statistics) saved the way
torchvision publishes them (torch.save of model.state_dict(): an OrderedDict with _metadata, zip
format), one of them also in the legacy pre-1.6 format, one backbone as a TorchScript module, plus a
fixed input and each backbone's output in reference.pth (a plain dict of tensors).
"""
import collections
import os
import sys

import torch
import torchvision


def randomise_batchnorm(model):
    """Non-trivial BatchNorm parameters and statistics, so eval-mode parity means something."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)


def resnet_trunk(model):
    names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    return torch.nn.Sequential(collections.OrderedDict((n, getattr(model, n)) for n in names))


class TwoPaths(torch.nn.Module):
    """A module whose forward is not its children in order: cut_after must refuse it."""

    def __init__(self):
        super().__init__()
        self.left = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.right = torch.nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return self.left(x) + self.right(x)


def main(out):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    x = torch.rand(1, 3, 64, 64)
    reference = {"input": x}

    vgg16 = torchvision.models.vgg16()
    # The published 25088×4096 classifier weighs 400 MB; a small one keeps the file layout
    # (features.* and classifier.* keys) at a fraction of the size.
    vgg16.classifier = torch.nn.Sequential(torch.nn.Linear(512 * 7 * 7, 4))
    vgg16.eval()
    torch.save(vgg16.state_dict(), os.path.join(out, "vgg16.pth"))
    reference["vgg16"] = vgg16.features(x)

    vgg11_bn = torchvision.models.vgg11_bn()
    vgg11_bn.classifier = torch.nn.Sequential(torch.nn.Linear(512 * 7 * 7, 4))
    randomise_batchnorm(vgg11_bn)
    vgg11_bn.eval()
    torch.save(vgg11_bn.state_dict(), os.path.join(out, "vgg11_bn.pth"))
    torch.save(vgg11_bn.state_dict(), os.path.join(out, "vgg11_bn_legacy.pth"),
               _use_new_zipfile_serialization=False)
    reference["vgg11_bn"] = vgg11_bn.features(x)

    resnet18 = torchvision.models.resnet18()
    randomise_batchnorm(resnet18)
    resnet18.eval()
    torch.save(resnet18.state_dict(), os.path.join(out, "resnet18.pth"))
    trunk = resnet_trunk(resnet18)
    reference["resnet18"] = trunk(x)
    torch.jit.save(torch.jit.script(trunk), os.path.join(out, "resnet18_trunk.pt"))
    reference["resnet18_layer2"] = trunk[:6](x)

    mobilenet = torchvision.models.mobilenet_v2()
    randomise_batchnorm(mobilenet)
    mobilenet.eval()
    torch.save(mobilenet.state_dict(), os.path.join(out, "mobilenet_v2.pth"))
    torch.save(mobilenet.state_dict(), os.path.join(out, "mobilenet_v2_legacy.pth"),
               _use_new_zipfile_serialization=False)
    reference["mobilenet_v2"] = mobilenet.features(x)

    torch.jit.save(torch.jit.script(TwoPaths()), os.path.join(out, "two_paths.pt"))
    # A training checkpoint that wraps its state dict.
    checkpoint = {"epoch": 3, "state_dict": TwoPaths().state_dict(), "best": 0.5}
    torch.save(checkpoint, os.path.join(out, "checkpoint.pth"))

    with torch.no_grad():
        torch.save({k: v.detach().contiguous() for k, v in reference.items()},
                   os.path.join(out, "reference.pth"))


if __name__ == "__main__":
    main(sys.argv[1])
