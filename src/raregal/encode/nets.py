"""Torch modules of the bottlenecked model: the Dirichlet GZ DESI head and encoder + head.

This module imports torch at the top; import it only where torch is needed.
"""

from __future__ import annotations

import torch
from torch import nn

from raregal.schema import ANSWER_COLUMNS, question_slices

MIN_CONCENTRATION = 1.0
MAX_CONCENTRATION = 100.0
PINNED_MARGIN = 0.01
"""An answer is pinned where its concentration is within this of the floor: its sigmoid's
gradient is then at most 1/2500 of its largest, and training no longer moves it."""


class DirichletHead(nn.Module):
    """Linear layer to Dirichlet concentrations in [1, 100] (Zoobot's scaled sigmoid).

    Parameters
    ----------
    in_features : int
        Size of the representation.
    n_answers : int, default=34
        Answers of the decision tree (GZ DESI has 34).
    normalise : bool, default=False
        Layer-normalise the representation first. Without it, a representation of large scale
        (the consistency term keeps every dimension's spread >= 1) can push an answer's sigmoid
        into saturation, where its gradient vanishes and the answer stays at the minimum
        concentration for every image (the version-4 demo encoder's edge-on and artifact answers).
        The norm does not rule it out for an answer that is rarely chosen (the shipped demo
        encoder's arm counts other than two): ``reset_answers`` revives such answers.
    """

    def __init__(
        self, in_features: int, n_answers: int = len(ANSWER_COLUMNS), normalise: bool = False
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(in_features) if normalise else None
        self.linear = nn.Linear(in_features, n_answers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, n_answers)`` concentrations."""
        if self.norm is not None:
            x = self.norm(x)
        span = MAX_CONCENTRATION - MIN_CONCENTRATION
        return MIN_CONCENTRATION + span * torch.sigmoid(self.linear(x))

    def reset_answers(self, answers: list[int]) -> None:
        """Start the given answers (indices into ``ANSWER_COLUMNS``) afresh: zero weights and
        bias, so each sits at mid concentration for every image with its full gradient."""
        with torch.no_grad():
            self.linear.weight[answers] = 0.0
            self.linear.bias[answers] = 0.0


def at_floor(concentrations: torch.Tensor) -> torch.Tensor:
    """Where a concentration is pinned at the floor (boolean, the shape of ``concentrations``)."""
    return concentrations < MIN_CONCENTRATION + PINNED_MARGIN


class BottleneckModel(nn.Module):
    """A timm encoder with a bottleneck (``encoder``) and an optional Dirichlet head (``head``).

    ``forward`` returns ``(features, concentrations or None)``.
    """

    def __init__(self, encoder: nn.Module, head: nn.Module | None) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        features = self.encoder(x)
        if self.head is None:
            return features, None
        return features, self.head(features.float())


def fractions_from_concentrations(concentrations: torch.Tensor) -> torch.Tensor:
    """Expected vote fractions of the Dirichlet: each concentration over its question's sum."""
    parts = []
    for start, stop in question_slices():
        block = concentrations[:, start:stop]
        parts.append(block / block.sum(dim=1, keepdim=True))
    return torch.cat(parts, dim=1)


def narrow_conv_head(model: nn.Module, bottleneck: int) -> nn.Module:
    """Give an EfficientNet/MobileNet a ``bottleneck``-channel head convolution (and its norm).

    This is the model that ``num_features=bottleneck`` builds: the last 1x1 convolution maps to
    ``bottleneck`` channels, which are pooled into the representation.
    """
    old_conv, old_bn = model.conv_head, model.bn2
    model.conv_head = nn.Conv2d(old_conv.in_channels, bottleneck, kernel_size=1, bias=False)
    model.bn2 = type(old_bn)(bottleneck, act_layer=type(old_bn.act), inplace=True)
    model.num_features = model.head_hidden_size = bottleneck
    model.reset_classifier(0)
    return model


class ProjectedEncoder(nn.Module):
    """A backbone followed by a linear projection to ``bottleneck`` dimensions."""

    def __init__(self, backbone: nn.Module, bottleneck: int) -> None:
        super().__init__()
        self.backbone = backbone
        width = getattr(backbone, "head_hidden_size", None) or backbone.num_features
        self.projection = nn.Linear(int(width), bottleneck)
        self.num_features = self.head_hidden_size = bottleneck

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(self.backbone(x))
