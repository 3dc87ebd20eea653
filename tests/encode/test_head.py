"""The Dirichlet head's optional layer norm, and finetuning the encoder with a fresh head.

A representation of large scale drives the scaled sigmoid of an answer into saturation: its
concentration sits at the floor (1) for every image and its gradient vanishes, so training cannot
bring it back (what happened to the version-4 demo encoder's edge-on and artifact answers).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from raregal.encode.models import ModelConfig, build_model, save_checkpoint  # noqa: E402
from raregal.encode.nets import (  # noqa: E402
    MAX_CONCENTRATION,
    MIN_CONCENTRATION,
    DirichletHead,
    at_floor,
)
from raregal.encode.train import _init_from  # noqa: E402


def _saturating_features() -> torch.Tensor:
    """Features far from zero, as a representation with a large offset and spread."""
    generator = torch.Generator().manual_seed(0)
    return 40.0 + 30.0 * torch.randn(64, 128, generator=generator)


@pytest.mark.parametrize("normalise", [False, True])
def test_layer_norm_keeps_the_head_out_of_saturation(normalise):
    torch.manual_seed(0)
    head = DirichletHead(128, normalise=normalise)
    concentrations = head(_saturating_features())
    at_floor = (concentrations < MIN_CONCENTRATION + 0.01).float().mean().item()
    concentrations.log().sum().backward()
    gradient = head.linear.weight.grad.abs().mean().item()
    if normalise:
        assert at_floor < 0.05 and gradient > 1e-2, (at_floor, gradient)
    else:  # the failure the norm prevents: many answers pinned at the floor
        assert at_floor > 0.2, at_floor


def test_finetuning_with_a_fresh_head_takes_only_the_encoder(tmp_path):
    config = ModelConfig(arch="convnext_atto", bottleneck=16, image_size=32)
    source = build_model(config)
    save_checkpoint(source, config, tmp_path / "source")
    torch.manual_seed(1)
    fresh = build_model(ModelConfig(arch="convnext_atto", bottleneck=16, image_size=32,
                                    head_norm=True))  # fmt: skip
    head_before = fresh.head.linear.weight.detach().clone()
    _init_from(fresh, str(tmp_path / "source"), with_head=False)
    own, theirs = fresh.state_dict(), source.state_dict()
    encoder_keys = [k for k in own if k.startswith("encoder.")]
    assert all(torch.equal(own[k], theirs[k]) for k in encoder_keys)
    assert torch.equal(fresh.head.linear.weight, head_before)
    assert not torch.equal(fresh.head.linear.weight, source.head.linear.weight)


def test_reset_answers_revives_a_pinned_answer():
    torch.manual_seed(0)
    head = DirichletHead(128, normalise=True)
    with torch.no_grad():
        head.linear.bias[[3, 7]] = -40.0  # saturated: at the floor for every image
    features = torch.randn(64, 128)
    share = at_floor(head(features)).float().mean(dim=0)
    assert share[3] == 1 and share[7] == 1 and (share[[0, 1, 2, 4]] == 0).all()
    head(features).log().sum().backward()
    assert head.linear.weight.grad[3].abs().max() < 1e-10  # its gradient has vanished
    head.zero_grad()

    head.reset_answers([3, 7])
    concentrations = head(features)
    middle = (MIN_CONCENTRATION + MAX_CONCENTRATION) / 2
    torch.testing.assert_close(concentrations[:, [3, 7]], torch.full((64, 2), middle))
    assert not at_floor(concentrations).any()
    concentrations.log().sum().backward()
    assert head.linear.weight.grad[3].abs().max() > 1e-3
