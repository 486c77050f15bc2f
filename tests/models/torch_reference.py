"""Plain-PyTorch reference implementations of torchvision's image classifiers, for the tests.

The tests compare jaxnets' ImageNet-style models (AlexNet, VGG, ResNet, GoogLeNet) against these
networks: parameter counts, state-dict layouts and, with converted weights, outputs. torchvision
itself is not a test dependency, so the networks are rebuilt here from ``torch.nn`` alone.

Every module mirrors torchvision's exactly: the same attribute names, layer order,
hyperparameters and default initialisation, so ``state_dict()`` has torchvision's keys
(``conv1.weight``, ``bn1.running_mean``, ``layer1.0.conv1.weight``, ``inception3a.branch2.0.conv
.weight``, ...) in torchvision's order, with torchvision's shapes. GoogLeNet is the variant with
``aux_logits=False`` and ``transform_input=False``.

Import it only after ``torch = pytest.importorskip("torch")``; this module imports torch itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
  "count_params",
  "alexnet",
  "vgg11",
  "vgg11_bn",
  "vgg16",
  "vgg16_bn",
  "resnet18",
  "resnet34",
  "resnet50",
  "googlenet",
  "AlexNet",
  "VGG",
  "ResNet",
  "BasicBlock",
  "Bottleneck",
  "GoogLeNet",
  "Inception",
  "BasicConv2d",
]


def count_params(module: nn.Module) -> int:
  """Number of trainable-parameter entries (``parameters()``), excluding buffers."""
  return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------------------------
# AlexNet


class AlexNet(nn.Module):
  """torchvision's AlexNet (the single-GPU "one weird trick" variant); default init."""

  def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5):
    super().__init__()
    self.features = nn.Sequential(
      nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2),
      nn.ReLU(inplace=True),
      nn.MaxPool2d(kernel_size=3, stride=2),
      nn.Conv2d(64, 192, kernel_size=5, padding=2),
      nn.ReLU(inplace=True),
      nn.MaxPool2d(kernel_size=3, stride=2),
      nn.Conv2d(192, 384, kernel_size=3, padding=1),
      nn.ReLU(inplace=True),
      nn.Conv2d(384, 256, kernel_size=3, padding=1),
      nn.ReLU(inplace=True),
      nn.Conv2d(256, 256, kernel_size=3, padding=1),
      nn.ReLU(inplace=True),
      nn.MaxPool2d(kernel_size=3, stride=2),
    )
    self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
    self.classifier = nn.Sequential(
      nn.Dropout(p=dropout),
      nn.Linear(256 * 6 * 6, 4096),
      nn.ReLU(inplace=True),
      nn.Dropout(p=dropout),
      nn.Linear(4096, 4096),
      nn.ReLU(inplace=True),
      nn.Linear(4096, num_classes),
    )

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    x = self.features(x)
    x = self.avgpool(x)
    x = torch.flatten(x, 1)
    return self.classifier(x)


def alexnet(num_classes: int = 1000, in_channels: int = 3) -> AlexNet:
  """torchvision's ``alexnet()``: 61,100,840 parameters at 1000 classes."""
  return AlexNet(num_classes=num_classes, in_channels=in_channels)


# --------------------------------------------------------------------------------------------
# VGG

# Output channels of each 3x3 convolution; "M" is a 2x2 stride-2 max pool.
VGG_CFGS: dict[str, list[int | str]] = {
  "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
  "E": [
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    512,
    "M",
  ],  # fmt: skip
}


def make_vgg_layers(
  cfg: Sequence[int | str], batch_norm: bool = False, in_channels: int = 3
) -> nn.Sequential:
  """torchvision's ``make_layers``: conv(3x3, pad 1)[, BN], ReLU per entry; "M" max-pools."""
  layers: list[nn.Module] = []
  channels = in_channels
  for v in cfg:
    if v == "M":
      layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
      continue
    conv = nn.Conv2d(channels, int(v), kernel_size=3, padding=1)
    if batch_norm:
      layers += [conv, nn.BatchNorm2d(int(v)), nn.ReLU(inplace=True)]
    else:
      layers += [conv, nn.ReLU(inplace=True)]
    channels = int(v)
  return nn.Sequential(*layers)


class VGG(nn.Module):
  """torchvision's VGG: ``features``, ``avgpool`` (7x7), three-layer ``classifier``."""

  def __init__(self, features: nn.Module, num_classes: int = 1000, dropout: float = 0.5):
    super().__init__()
    self.features = features
    self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
    self.classifier = nn.Sequential(
      nn.Linear(512 * 7 * 7, 4096),
      nn.ReLU(True),
      nn.Dropout(p=dropout),
      nn.Linear(4096, 4096),
      nn.ReLU(True),
      nn.Dropout(p=dropout),
      nn.Linear(4096, num_classes),
    )
    for m in self.modules():
      if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if m.bias is not None:
          nn.init.constant_(m.bias, 0)
      elif isinstance(m, nn.BatchNorm2d):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)
      elif isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0, 0.01)
        nn.init.constant_(m.bias, 0)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    x = self.features(x)
    x = self.avgpool(x)
    x = torch.flatten(x, 1)
    return self.classifier(x)


def _vgg(cfg: str, batch_norm: bool, num_classes: int, in_channels: int) -> VGG:
  features = make_vgg_layers(VGG_CFGS[cfg], batch_norm=batch_norm, in_channels=in_channels)
  return VGG(features, num_classes=num_classes)


def vgg11(num_classes: int = 1000, in_channels: int = 3) -> VGG:
  """torchvision's ``vgg11()`` (cfg "A"): 132,863,336 parameters at 1000 classes."""
  return _vgg("A", False, num_classes, in_channels)


def vgg11_bn(num_classes: int = 1000, in_channels: int = 3) -> VGG:
  """torchvision's ``vgg11_bn()`` (cfg "A" with BatchNorm)."""
  return _vgg("A", True, num_classes, in_channels)


def vgg16(num_classes: int = 1000, in_channels: int = 3) -> VGG:
  """torchvision's ``vgg16()`` (cfg "D"): 138,357,544 parameters at 1000 classes."""
  return _vgg("D", False, num_classes, in_channels)


def vgg16_bn(num_classes: int = 1000, in_channels: int = 3) -> VGG:
  """torchvision's ``vgg16_bn()`` (cfg "D" with BatchNorm)."""
  return _vgg("D", True, num_classes, in_channels)


# --------------------------------------------------------------------------------------------
# ResNet


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
  """3x3 convolution, padding 1, no bias."""
  return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
  """1x1 convolution, no bias."""
  return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
  """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""

  expansion = 1

  def __init__(
    self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
  ):
    super().__init__()
    self.conv1 = conv3x3(inplanes, planes, stride)
    self.bn1 = nn.BatchNorm2d(planes)
    self.relu = nn.ReLU(inplace=True)
    self.conv2 = conv3x3(planes, planes)
    self.bn2 = nn.BatchNorm2d(planes)
    self.downsample = downsample
    self.stride = stride

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    identity = x
    out = self.relu(self.bn1(self.conv1(x)))
    out = self.bn2(self.conv2(out))
    if self.downsample is not None:
      identity = self.downsample(x)
    return self.relu(out + identity)


class Bottleneck(nn.Module):
  """1x1 reduce, 3x3 (carrying the stride: ResNet v1.5), 1x1 expand by 4, residual."""

  expansion = 4

  def __init__(
    self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
  ):
    super().__init__()
    width = planes  # groups=1, base_width=64
    self.conv1 = conv1x1(inplanes, width)
    self.bn1 = nn.BatchNorm2d(width)
    self.conv2 = conv3x3(width, width, stride)
    self.bn2 = nn.BatchNorm2d(width)
    self.conv3 = conv1x1(width, planes * self.expansion)
    self.bn3 = nn.BatchNorm2d(planes * self.expansion)
    self.relu = nn.ReLU(inplace=True)
    self.downsample = downsample
    self.stride = stride

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    identity = x
    out = self.relu(self.bn1(self.conv1(x)))
    out = self.relu(self.bn2(self.conv2(out)))
    out = self.bn3(self.conv3(out))
    if self.downsample is not None:
      identity = self.downsample(x)
    return self.relu(out + identity)


class ResNet(nn.Module):
  """torchvision's ResNet. ``small_input`` swaps the stem for a 3x3 stride-1 conv, no max pool.

  The names are unchanged with ``small_input`` (``maxpool`` is an ``nn.Identity``), so the
  state-dict keys are still torchvision's; only ``conv1.weight``'s shape differs.
  """

  def __init__(
    self,
    block: type[BasicBlock | Bottleneck],
    layers: Sequence[int],
    num_classes: int = 1000,
    in_channels: int = 3,
    small_input: bool = False,
  ):
    super().__init__()
    self.inplanes = 64
    if small_input:
      self.conv1 = nn.Conv2d(
        in_channels, self.inplanes, kernel_size=3, stride=1, padding=1, bias=False
      )
    else:
      self.conv1 = nn.Conv2d(
        in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False
      )
    self.bn1 = nn.BatchNorm2d(self.inplanes)
    self.relu = nn.ReLU(inplace=True)
    if small_input:
      self.maxpool = nn.Identity()
    else:
      self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    self.layer1 = self._make_layer(block, 64, layers[0])
    self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
    self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
    self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
    self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
    self.fc = nn.Linear(512 * block.expansion, num_classes)

    for m in self.modules():
      if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
      elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)
    # torchvision's zero_init_residual defaults to False: the last BN of each block keeps 1.

  def _make_layer(
    self, block: type[BasicBlock | Bottleneck], planes: int, blocks: int, stride: int = 1
  ) -> nn.Sequential:
    downsample = None
    if stride != 1 or self.inplanes != planes * block.expansion:
      downsample = nn.Sequential(
        conv1x1(self.inplanes, planes * block.expansion, stride),
        nn.BatchNorm2d(planes * block.expansion),
      )
    layers = [block(self.inplanes, planes, stride, downsample)]
    self.inplanes = planes * block.expansion
    for _ in range(1, blocks):
      layers.append(block(self.inplanes, planes))
    return nn.Sequential(*layers)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
    x = self.layer1(x)
    x = self.layer2(x)
    x = self.layer3(x)
    x = self.layer4(x)
    x = self.avgpool(x)
    x = torch.flatten(x, 1)
    return self.fc(x)


def resnet18(num_classes: int = 1000, in_channels: int = 3, *, small_input: bool = False) -> ResNet:
  """torchvision's ``resnet18()``: 11,689,512 parameters at 1000 classes."""
  return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, small_input)


def resnet34(num_classes: int = 1000, in_channels: int = 3, *, small_input: bool = False) -> ResNet:
  """torchvision's ``resnet34()``: 21,797,672 parameters at 1000 classes."""
  return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, small_input)


def resnet50(num_classes: int = 1000, in_channels: int = 3, *, small_input: bool = False) -> ResNet:
  """torchvision's ``resnet50()`` (v1.5): 25,557,032 parameters at 1000 classes."""
  return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, small_input)


# --------------------------------------------------------------------------------------------
# GoogLeNet


class BasicConv2d(nn.Module):
  """Convolution without bias, BatchNorm (eps 0.001), ReLU."""

  def __init__(self, in_channels: int, out_channels: int, **kwargs):
    super().__init__()
    self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
    self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    return torch.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
  """Four branches concatenated on channels: 1x1; 1x1-3x3; 1x1-3x3; 3x3 max pool-1x1.

  The third branch uses a 3x3 convolution, as torchvision does (the paper has 5x5).
  """

  def __init__(
    self,
    in_channels: int,
    ch1x1: int,
    ch3x3red: int,
    ch3x3: int,
    ch5x5red: int,
    ch5x5: int,
    pool_proj: int,
  ):
    super().__init__()
    self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
    self.branch2 = nn.Sequential(
      BasicConv2d(in_channels, ch3x3red, kernel_size=1),
      BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
    )
    self.branch3 = nn.Sequential(
      BasicConv2d(in_channels, ch5x5red, kernel_size=1),
      BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),
    )
    self.branch4 = nn.Sequential(
      nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
      BasicConv2d(in_channels, pool_proj, kernel_size=1),
    )

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
    return torch.cat(branches, 1)


class GoogLeNet(nn.Module):
  """torchvision's GoogLeNet with ``aux_logits=False`` and ``transform_input=False``."""

  def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2):
    super().__init__()
    self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
    self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
    self.conv2 = BasicConv2d(64, 64, kernel_size=1)
    self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
    self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

    self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
    self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
    self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

    self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
    self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
    self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
    self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
    self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
    self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

    self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
    self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)

    # No auxiliary heads (torchvision sets aux1 = aux2 = None; they hold no parameters).
    self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
    self.dropout = nn.Dropout(p=dropout)
    self.fc = nn.Linear(1024, num_classes)

    for m in self.modules():
      if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
      elif isinstance(m, nn.BatchNorm2d):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    x = self.maxpool1(self.conv1(x))
    x = self.maxpool2(self.conv3(self.conv2(x)))
    x = self.maxpool3(self.inception3b(self.inception3a(x)))
    x = self.inception4a(x)
    x = self.inception4b(x)
    x = self.inception4c(x)
    x = self.inception4d(x)
    x = self.maxpool4(self.inception4e(x))
    x = self.inception5b(self.inception5a(x))
    x = torch.flatten(self.avgpool(x), 1)
    return self.fc(self.dropout(x))


def googlenet(num_classes: int = 1000, in_channels: int = 3) -> GoogLeNet:
  """torchvision's ``googlenet(aux_logits=False)``: 6,624,904 parameters at 1000 classes."""
  return GoogLeNet(num_classes=num_classes, in_channels=in_channels)


def randomize_batchnorm(net: torch.nn.Module) -> None:
  """Non-trivial running statistics and affine parameters, so evaluation mode is tested."""
  gen = torch.Generator().manual_seed(0)
  with torch.no_grad():
    for module in net.modules():
      if isinstance(module, torch.nn.BatchNorm2d):
        module.running_mean.uniform_(-0.5, 0.5, generator=gen)
        module.running_var.uniform_(0.5, 2.0, generator=gen)
        module.weight.uniform_(0.5, 1.5, generator=gen)
        module.bias.uniform_(-0.5, 0.5, generator=gen)
