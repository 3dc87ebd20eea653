"""Encoders: a 128-D bottleneck timm model with a Dirichlet GZ DESI head, and how to load one.

``load_model(name_or_path)`` accepts

- ``"demo"``: the small encoder bundled with raregal (trained on a simulated survey);
- ``"hf_hub:mwalmsley/zoobot-encoder-<name>"``: a Zoobot encoder from the user's HuggingFace
  cache (nothing is downloaded; a clear message says how to fetch it when it is missing);
- a folder in the HuggingFace hub layout that timm writes (``config.json`` + ``model.safetensors``);
- a raregal checkpoint: a folder with ``config.json`` (holding a ``"raregal"`` entry) and
  ``model.safetensors``, as ``save_checkpoint`` and ``raregal train`` write it.

Any object with ``encode(batch) -> (features, fractions or None)`` is an ``Encoder`` and can be
passed to ``embed`` instead.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from raregal.errors import InputError, MissingDependencyError
from raregal.schema import ANSWER_COLUMNS
from raregal.settings import demo_model_path, num_threads

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CHECKPOINT_FORMAT = "raregal-encoder-v1"
DEMO_NAME = "demo"
HF_PREFIXES = ("hf_hub:", "hf-hub:")


@runtime_checkable
class Encoder(Protocol):
    """What ``embed`` needs from a model (duck-typed; bring your own).

    ``encode`` takes a float batch ``(N, C, H, W)`` in [0, 1] on ``device`` and returns the
    ``(N, D)`` representations and the ``(N, 34)`` GZ DESI vote fractions (or None).
    ``image_size`` and ``channels`` say what input it wants.
    """

    image_size: int
    channels: int

    def encode(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]: ...


def configure_threads() -> None:
    """Apply ``RAREGAL_NUM_THREADS`` to torch when it is set (1 is best on a crowded machine)."""
    if os.environ.get("RAREGAL_NUM_THREADS"):
        import torch

        torch.set_num_threads(num_threads())


def require_torch() -> None:
    """Raise MissingDependencyError when the torch extra is not installed."""
    for package in ("torch", "timm", "safetensors"):
        try:
            __import__(package)
        except ImportError as exc:
            raise MissingDependencyError(package, "torch") from exc


@dataclass
class ModelConfig:
    """Everything needed to rebuild a bottlenecked model; stored in ``config.json``.

    Parameters
    ----------
    arch : str, default="efficientnet_b0"
        A timm architecture name.
    bottleneck : int or None, default=128
        Size of the representation; None keeps the architecture's own feature size.
    image_size : int, default=224
        Input side in pixels.
    channels : int, default=3
        Input channels.
    head : bool, default=True
        Whether the model has the Dirichlet GZ DESI head (34 answers).
    head_norm : bool, default=False
        Whether the head layer-normalises the representation first (``DirichletHead``).
    timm_kwargs : dict, default={}
        Extra keyword arguments for ``timm.create_model``.
    training : dict, default={}
        How the weights were trained (data, epochs, losses, errors); informational.
    """

    arch: str = "efficientnet_b0"
    bottleneck: int | None = 128
    image_size: int = 224
    channels: int = 3
    head: bool = True
    head_norm: bool = False
    timm_kwargs: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    answers: list[str] = field(default_factory=lambda: list(ANSWER_COLUMNS))


def create_encoder(
    arch: str, bottleneck: int | None, channels: int = 3, pretrained_from: str | None = None, **kw
):
    """A timm backbone whose pooled output is ``bottleneck``-D (no classifier).

    ConvNeXt and MaxViT get a ``head_hidden_size`` pre-logits layer; EfficientNet and MobileNet
    get a ``bottleneck``-channel head convolution (what ``num_features=128`` builds in Zoobot's
    timm); other architectures get a linear projection after pooling. ``pretrained_from`` is a
    hub-layout folder whose weights initialise the backbone (tensors that do not fit are skipped).
    """
    require_torch()
    import timm

    kwargs: dict[str, Any] = {"num_classes": 0, "in_chans": channels, **kw}
    if bottleneck is not None and arch.startswith(("convnext", "maxvit", "coatnet")):
        kwargs["head_hidden_size"] = bottleneck
    try:
        model = timm.create_model(arch, pretrained=False, **kwargs)
    except RuntimeError as exc:
        raise InputError(f"unknown timm architecture {arch!r} ({exc})") from exc
    if bottleneck is not None and output_dim(model) != bottleneck:
        model = _add_bottleneck(model, bottleneck)
    if pretrained_from is not None:
        _load_matching(model, _read_safetensors(Path(pretrained_from) / WEIGHTS_NAME))
    return model


def output_dim(model) -> int:
    """Size of a timm model's pooled output (``head_hidden_size`` when it has one)."""
    return int(getattr(model, "head_hidden_size", None) or model.num_features)


def _add_bottleneck(model, bottleneck: int):
    from raregal.encode.nets import ProjectedEncoder, narrow_conv_head

    if hasattr(model, "conv_head") and hasattr(model, "bn2"):
        return narrow_conv_head(model, bottleneck)
    return ProjectedEncoder(model, bottleneck)


def _load_matching(model, state: dict[str, Any]) -> None:
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    skipped = sorted(set(own) - set(usable))
    model.load_state_dict(usable, strict=False)
    logger.info(
        "initialised %d tensors from pretrained weights; %d left new: %s",
        len(usable),
        len(skipped),
        ", ".join(skipped[:6]),
    )


def build_model(config: ModelConfig, pretrained_from: str | None = None):
    """A ``BottleneckModel`` (torch module) from ``config``, randomly initialised."""
    from raregal.encode.nets import BottleneckModel, DirichletHead

    encoder = create_encoder(
        config.arch, config.bottleneck, config.channels, pretrained_from, **config.timm_kwargs
    )
    head = None
    if config.head:
        head = DirichletHead(output_dim(encoder), len(config.answers), config.head_norm)
    return BottleneckModel(encoder, head)


class TorchEncoder:
    """A torch model as an ``Encoder``: inference mode, channels_last, GPU and bf16 when available.

    Parameters
    ----------
    model : torch.nn.Module
        Its ``forward`` returns ``(features, concentrations or None)`` or just features.
    image_size, channels : int
        The input it expects.
    config : ModelConfig, default=None
        Recorded with the outputs.
    name : str, default="custom"
        What the model was loaded from; recorded with the outputs.
    device : str, default=None
        ``"cuda"`` when available, else ``"cpu"``.
    bf16 : bool, default=None
        bfloat16 autocast; on by default on a GPU only.
    """

    def __init__(
        self,
        model,
        image_size: int,
        channels: int = 3,
        config: ModelConfig | None = None,
        name: str = "custom",
        device: str | None = None,
        bf16: bool | None = None,
    ) -> None:
        import torch

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.bf16 = (self.device.startswith("cuda")) if bf16 is None else bf16
        self.model = model.eval().to(self.device).to(memory_format=torch.channels_last)
        self.image_size = image_size
        self.channels = channels
        self.config = config
        self.name = name

    @property
    def feature_dim(self) -> int:
        """Size of the representation."""
        return output_dim(getattr(self.model, "encoder", self.model))

    def encode(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Representations and vote fractions (float32, on the CPU) of a [0, 1] batch."""
        import torch

        from raregal.encode.nets import fractions_from_concentrations

        batch = batch.to(self.device, non_blocking=True).contiguous(
            memory_format=torch.channels_last
        )
        with (
            torch.inference_mode(),
            torch.autocast(device_type=batch.device.type, dtype=torch.bfloat16, enabled=self.bf16),
        ):
            out = self.model(batch)
        features, concentrations = out if isinstance(out, tuple) else (out, None)
        fractions = None
        if concentrations is not None:
            fractions = fractions_from_concentrations(concentrations.float()).cpu()
        return features.float().cpu(), fractions

    def describe(self) -> dict[str, Any]:
        """What to record about this encoder in the output metadata."""
        info: dict[str, Any] = {
            "name": self.name,
            "image_size": self.image_size,
            "channels": self.channels,
            "device": self.device,
        }
        if self.config is not None:
            info["arch"] = self.config.arch
            info["bottleneck"] = self.config.bottleneck
            summary = (self.config.training or {}).get("summary")
            if summary:
                info["trained_on"] = summary
        return info


# ----------------------------------------------------------------------------- saving


def save_checkpoint(model, config: ModelConfig, folder: str | os.PathLike[str]) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``folder`` (atomically, no pickle)."""
    from safetensors.torch import save_file

    from raregal.io.atomic import atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(folder / WEIGHTS_NAME) as tmp:
        save_file(state, str(tmp), metadata={"format": CHECKPOINT_FORMAT})
    payload = {
        "architecture": config.arch,
        "num_features": output_dim(model.encoder),
        "raregal": {"format": CHECKPOINT_FORMAT, **asdict(config)},
    }
    with atomic_path(folder / CONFIG_NAME) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, default=_json_default))
    return folder


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


# ----------------------------------------------------------------------------- loading


def load_model(
    name_or_path: str | os.PathLike[str] | Encoder,
    device: str | None = None,
    bf16: bool | None = None,
    image_size: int | None = None,
) -> Encoder:
    """Load an encoder by name or path (see the module docstring for what is accepted).

    Parameters
    ----------
    name_or_path : str, path-like or Encoder
        ``"demo"``, ``"hf_hub:<repo>"``, a hub-layout folder or a raregal checkpoint folder. An
        ``Encoder`` passes through unchanged.
    device : str, default=None
        Where to run; the GPU when there is one.
    bf16 : bool, default=None
        bfloat16 autocast (default: on GPU only).
    image_size : int, default=None
        Override the input size stored with the model.

    Returns
    -------
    TorchEncoder
    """
    if not isinstance(name_or_path, str | os.PathLike):
        if isinstance(name_or_path, Encoder):
            return name_or_path
        raise InputError(
            f"expected a model name, a folder or an object with encode(batch); got "
            f"{type(name_or_path).__name__}"
        )
    require_torch()
    configure_threads()
    name = str(name_or_path)
    if name == DEMO_NAME:
        folder = Path(demo_model_path() or demo_weights_folder())
        encoder = _load_folder(folder, device, bf16, image_size, name=DEMO_NAME)
    elif name.startswith(HF_PREFIXES):
        repo = name.split(":", 1)[1]
        folder = hf_cache_folder(repo)
        encoder = _load_folder(folder, device, bf16, image_size, name=name)
    else:
        folder = Path(name).expanduser()
        if not folder.exists():
            raise InputError(
                "no such model: expected 'demo', 'hf_hub:mwalmsley/zoobot-encoder-<name>', "
                "a folder with config.json + model.safetensors, or a raregal checkpoint",
                path=folder,
            )
        encoder = _load_folder(folder, device, bf16, image_size, name=str(folder))
    logger.info("loaded encoder %s (%s)", name, encoder.describe())
    return encoder


def model_card(name_or_path: str | os.PathLike[str]) -> dict[str, Any]:
    """What a model is and what it was trained on, from its ``config.json`` (no torch needed).

    Returns
    -------
    dict
        ``name``, ``arch``, ``image_size``, ``trained_on`` (one sentence) and ``reference`` (the
        guard's statistics of its held-out survey, ``raregal.encode.guard``; None when the model
        records none). Fields the model does not record are None; a model that cannot be found
        gives a card with only its ``name``.
    """
    name = str(name_or_path)
    card: dict[str, Any] = {
        "name": name, "arch": None, "image_size": None, "trained_on": None, "reference": None,
    }  # fmt: skip
    try:
        if name == DEMO_NAME:
            folder = Path(demo_model_path() or demo_weights_folder())
        elif name.startswith(HF_PREFIXES):
            folder = hf_cache_folder(name.split(":", 1)[1])
        else:
            folder = Path(name).expanduser()
        raw = _read_config(folder if folder.is_dir() else folder.parent)
    except (InputError, MissingDependencyError):
        return card
    own = raw.get("raregal", {})
    training = own.get("training") or {}
    card["arch"] = own.get("arch") or raw.get("architecture")
    card["image_size"] = own.get("image_size") or (raw.get("pretrained_cfg") or {}).get(
        "input_size", [None])[-1]  # fmt: skip
    card["trained_on"] = training.get("summary") or (
        "Galaxy Zoo volunteer votes of real galaxies (a Zoobot encoder; see its model card)"
        if "zoobot" in name.lower()
        else None
    )
    card["reference"] = training.get("reference")
    return card


def demo_weights_folder() -> Path:
    """The bundled demo encoder's folder inside the package."""
    return Path(str(resources.files("raregal.encode") / "weights" / DEMO_NAME))


def hf_cache_folder(repo: str) -> Path:
    """The cached snapshot folder of a HuggingFace hub repo; never downloads.

    Raises
    ------
    InputError
        When ``config.json`` or ``model.safetensors`` of ``repo`` is not in the cache.
    """
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError as exc:
        raise MissingDependencyError("huggingface_hub", "torch") from exc
    found = {}
    for filename in (CONFIG_NAME, WEIGHTS_NAME):
        path = try_to_load_from_cache(repo, filename)
        if not isinstance(path, str):
            from huggingface_hub.constants import HF_HUB_CACHE

            offline = os.environ.get("HF_HUB_OFFLINE", "")
            where = f"{HF_HUB_CACHE}, HF_HUB_OFFLINE={offline}" if offline else HF_HUB_CACHE
            raise InputError(
                f"weights for {repo!r} not found offline: {filename} is not in the HuggingFace "
                f"cache ({where}); raregal "
                f"never downloads. On a connected machine run `hf download {repo}` (or "
                f"`huggingface-cli download {repo}`) and copy the cache, or pass a local folder "
                "with config.json + model.safetensors"
            )
        found[filename] = Path(path)
    return found[CONFIG_NAME].parent


def _read_config(folder: Path) -> dict[str, Any]:
    config_path = folder / CONFIG_NAME
    if not config_path.is_file():
        raise InputError("model folder has no config.json", path=folder)
    try:
        return json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"config.json is not valid JSON ({exc})", path=config_path) from exc


def _read_safetensors(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(
            "model.safetensors not found (raregal loads safetensors weights only, never pickles)",
            path=path,
        )
    from safetensors.torch import load_file

    return load_file(str(path), device="cpu")


def _load_folder(
    folder: Path, device: str | None, bf16: bool | None, image_size: int | None, name: str
) -> TorchEncoder:
    if folder.is_file():
        folder = folder.parent
    raw = _read_config(folder)
    if "raregal" in raw:
        known = set(ModelConfig.__dataclass_fields__)
        config = ModelConfig(**{k: v for k, v in raw["raregal"].items() if k in known})
        model = build_model(config)
        state = _read_safetensors(folder / WEIGHTS_NAME)
        model.load_state_dict(state)
        return TorchEncoder(
            model, image_size or config.image_size, config.channels, config, name, device, bf16
        )
    if "architecture" not in raw:
        raise InputError(
            "config.json has neither 'architecture' (timm hub layout) nor 'raregal' (checkpoint)",
            path=folder / CONFIG_NAME,
        )
    model = load_timm_folder(folder)
    size = model.pretrained_cfg.get("input_size", (3, 224, 224))
    config = ModelConfig(
        arch=raw["architecture"],
        bottleneck=output_dim(model),
        image_size=int(size[-1]),
        channels=int(size[0]),
        head=False,
    )
    return TorchEncoder(
        model, image_size or config.image_size, config.channels, config, name, device, bf16
    )


def load_timm_folder(folder: str | os.PathLike[str]):
    """A timm model from a hub-layout folder (``config.json`` + ``model.safetensors``).

    The classifier is removed (``num_classes=0``) so the model returns pooled features.
    """
    require_torch()
    import timm

    folder = Path(folder)
    if not (folder / WEIGHTS_NAME).is_file():
        raise InputError(
            "model.safetensors not found (raregal loads safetensors weights only, never pickles)",
            path=folder,
        )
    try:
        return timm.create_model(f"local-dir:{folder}", pretrained=True, num_classes=0)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise InputError(
            f"timm cannot build the model in this folder ({exc})", path=folder
        ) from exc
