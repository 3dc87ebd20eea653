"""Model building and loading: bottlenecks, hub-layout folders, HF cache, raregal checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")

from raregal.encode.models import (  # noqa: E402
    Encoder,
    ModelConfig,
    build_model,
    create_encoder,
    load_model,
    save_checkpoint,
)
from raregal.errors import InputError  # noqa: E402
from raregal.schema import question_slices  # noqa: E402


@pytest.fixture(autouse=True)
def one_torch_thread(monkeypatch):
    """One torch thread: on a crowded 2-core machine two threads spin against each other."""
    threads = torch.get_num_threads()
    monkeypatch.setenv("RAREGAL_NUM_THREADS", "1")
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _batch(n: int = 4, size: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("arch", ["efficientnet_b0", "test_convnext", "test_resnet"])
def test_bottleneck_is_128_dimensional(arch):
    """EfficientNetB0 gets a 128-channel head conv, ConvNeXt head_hidden_size, others project."""
    encoder = create_encoder(arch, 128).eval()
    with torch.inference_mode():
        assert encoder(_batch()).shape == (4, 128)
    if arch == "efficientnet_b0":
        assert encoder.conv_head.out_channels == 128


def test_hub_layout_folder_reloads_identically(tmp_path):
    """A folder written by timm's save_for_hf loads through load_model with equal outputs."""
    from timm.models import save_for_hf

    model = timm.create_model("test_convnext", num_classes=0, head_hidden_size=128).eval()
    save_for_hf(model, str(tmp_path), model_args={"head_hidden_size": 128}, safe_serialization=True)
    encoder = load_model(tmp_path, device="cpu")
    x = _batch()
    with torch.inference_mode():
        expected = model(x)
    features, fractions = encoder.encode(x)
    assert fractions is None  # hub encoders have no GZ DESI head
    assert features.shape == (4, 128)
    torch.testing.assert_close(features, expected, rtol=0, atol=1e-6)


def test_hf_cache_is_read_without_downloading(tmp_path, monkeypatch):
    """A repo in the HuggingFace cache layout loads; a missing one gives the offline message."""
    import huggingface_hub.constants
    from timm.models import save_for_hf

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match=r"not found offline.*never downloads"):
        load_model("hf_hub:mwalmsley/zoobot-encoder-convnext_nano")

    repo = tmp_path / "models--mwalmsley--zoobot-encoder-test"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    model = timm.create_model("test_efficientnet", num_classes=0).eval()
    save_for_hf(model, str(snapshot), safe_serialization=True)
    encoder = load_model("hf_hub:mwalmsley/zoobot-encoder-test", device="cpu")
    with torch.inference_mode():
        expected = model(_batch())
    torch.testing.assert_close(encoder.encode(_batch())[0], expected, rtol=0, atol=1e-6)
    assert encoder.image_size == 160  # from the stored pretrained_cfg


def test_checkpoint_round_trip_and_fractions_obey_the_tree(tmp_path):
    config = ModelConfig(arch="test_convnext", bottleneck=128, image_size=32)
    model = build_model(config).eval()
    save_checkpoint(model, config, tmp_path / "ckpt")
    stored = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert stored["raregal"]["arch"] == "test_convnext" and stored["num_features"] == 128

    encoder = load_model(tmp_path / "ckpt", device="cpu")
    assert isinstance(encoder, Encoder) and encoder.image_size == 32
    features, fractions = encoder.encode(_batch())
    with torch.inference_mode():
        expected_features, _ = model(_batch())
    torch.testing.assert_close(features, expected_features, rtol=0, atol=1e-6)
    assert fractions.shape == (4, 34)
    for start, stop in question_slices():
        np.testing.assert_allclose(fractions[:, start:stop].sum(dim=1).numpy(), 1.0, atol=1e-5)
    assert (fractions > 0).all()


def test_pickled_weights_are_refused(tmp_path):
    """A folder with only pytorch_model.bin is not loaded: raregal never unpickles."""
    model = timm.create_model("test_efficientnet", num_classes=0)
    (tmp_path / "config.json").write_text(json.dumps({"architecture": "test_efficientnet"}))
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(InputError, match="never pickles"):
        load_model(tmp_path)


def test_unknown_model_names_fail_clearly(tmp_path):
    with pytest.raises(InputError, match="no such model"):
        load_model(tmp_path / "missing")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(InputError, match="neither 'architecture'"):
        load_model(tmp_path)
    with pytest.raises(InputError, match="encode"):
        load_model(42)


def test_custom_encoder_passes_through():
    class Mean:
        image_size, channels = 16, 3

        def encode(self, batch):
            return batch.mean(dim=(2, 3)), None

    mine = Mean()
    assert load_model(mine) is mine
