"""`raregal embed` and `raregal train`: images to representations, and the encoder behind them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from raregal.cli.app import app

_MODEL_HELP = (
    "'demo', 'hf_hub:mwalmsley/zoobot-encoder-<name>' (from the HuggingFace cache, never "
    "downloaded), a folder with config.json + model.safetensors, or a raregal checkpoint."
)


@app.command("embed")
def embed_cli(
    source: Annotated[
        Path, typer.Argument(help="A catalog (id_str, file_loc) or a folder of JPEG/PNG/FITS.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The representation table (.parquet).")],
    model: Annotated[str, typer.Option("--model", "-m", help=_MODEL_HELP)] = "demo",
    batch_size: Annotated[int, typer.Option(help="Images per forward pass.")] = 256,
    num_workers: Annotated[
        int | None, typer.Option(help="Image-decoding worker processes (default: cores - 1).")
    ] = None,
    shard_size: Annotated[int, typer.Option(help="Images per resumable shard.")] = 8192,
    image_size: Annotated[
        int | None, typer.Option(help="Input side in pixels (default: the model's).")
    ] = None,
    zoom: Annotated[
        float, typer.Option(help="Centre zoom before resizing (2: middle half).")
    ] = 1.0,
    device: Annotated[str | None, typer.Option(help="cuda or cpu (default: cuda if any).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT and earlier shards.")] = False,
    progress: Annotated[bool, typer.Option(help="Show the progress bar.")] = True,
    engine: Annotated[
        str,
        typer.Option(
            help="single: this process and its DataLoader workers (default); ray: Ray Data "
            "actors (one per GPU, else CPU actors), same output and resumption."
        ),
    ] = "single",
    address: Annotated[
        str | None,
        typer.Option(
            help="With --engine ray: 'auto' joins a running `ray start --head`, "
            "ray://HOST:10001 a cluster; default starts a local Ray for this call."
        ),
    ] = None,
    num_actors: Annotated[
        int | None,
        typer.Option(
            help="With --engine ray: encoder actors (default: one per GPU, else per CPU)."
        ),
    ] = None,
    ignore_memory_check: Annotated[
        bool, typer.Option(help="Run even when the memory estimate exceeds the free memory.")
    ] = False,
) -> None:
    """Encode images: id_str, feat_0..feat_127 and the GZ DESI vote fractions; resumable."""
    from raregal.errors import InputError

    if engine not in ("single", "ray"):
        raise InputError(f"--engine must be 'single' or 'ray'; got {engine!r}", column="engine")
    if engine == "ray":
        from raregal.encode.ray_engine import embed_ray

        result = embed_ray(
            source, out, model, address=address, batch_size=batch_size, shard_size=shard_size,
            image_size=image_size, zoom=zoom, overwrite=overwrite, progress=progress,
            num_actors=num_actors, ignore_memory_check=ignore_memory_check,
        )  # fmt: skip
    else:
        from raregal.encode.embed import embed

        result = embed(
            source,
            out,
            model,
            batch_size=batch_size,
            num_workers=num_workers,
            shard_size=shard_size,
            image_size=image_size,
            zoom=zoom,
            device=device,
            overwrite=overwrite,
            progress=progress,
            ignore_memory_check=ignore_memory_check,
        )
    resumed = f" ({result.n_resumed} from an earlier run)" if result.n_resumed else ""
    typer.echo(
        f"wrote {result.n_rows} of {result.n_images} images{resumed} to {result.path} in "
        f"{result.seconds:.1f} s ({result.images_per_second:.1f} images/s); "
        f"{result.n_failed} could not be read: {result.failures_path}"
    )


@app.command("train")
def train_cli(
    catalog: Annotated[
        Path, typer.Argument(help="Catalog: id_str, file_loc and the GZ DESI vote counts.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Checkpoint folder to write.")],
    arch: Annotated[str, typer.Option(help="timm architecture.")] = "efficientnet_b0",
    bottleneck: Annotated[int, typer.Option(help="Size of the representation.")] = 128,
    image_size: Annotated[int, typer.Option(help="Input side in pixels.")] = 224,
    init: Annotated[
        str | None, typer.Option(help="Finetune from this encoder (name or folder).")
    ] = None,
    epochs: Annotated[int, typer.Option(help="Most epochs.")] = 20,
    batch_size: Annotated[int, typer.Option(help="Images per step.")] = 64,
    lr: Annotated[float, typer.Option(help="AdamW peak learning rate.")] = 1e-3,
    val_fraction: Annotated[float, typer.Option(help="Share held out for validation.")] = 0.1,
    patience: Annotated[int, typer.Option(help="Epochs without improvement before stop.")] = 3,
    consistency_weight: Annotated[
        float, typer.Option(help="Weight of the augmentation-invariance term (0: off).")
    ] = 0.0,
    covariance_weight: Annotated[
        float,
        typer.Option(help="Weight of VICReg's decorrelation term inside it (0: off)."),
    ] = 0.0,
    reset_question: Annotated[
        list[str] | None,
        typer.Option(
            help="A GZ DESI question whose answers start afresh in the head after --init "
            "(repeatable): revives answers pinned at the minimum concentration."
        ),
    ] = None,
    num_workers: Annotated[int | None, typer.Option(help="Image-decoding workers.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split, initialisation and order.")] = 0,
    device: Annotated[str | None, typer.Option(help="cuda or cpu (default: cuda if any).")] = None,
    progress: Annotated[bool, typer.Option(help="Show the progress bars.")] = True,
) -> None:
    """Train a bottlenecked encoder + Dirichlet GZ DESI head on vote counts; resumable."""
    from raregal.encode.train import TrainConfig, train

    config = TrainConfig(
        arch=arch,
        bottleneck=bottleneck,
        image_size=image_size,
        init=init,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        val_fraction=val_fraction,
        patience=patience,
        consistency_weight=consistency_weight,
        covariance_weight=covariance_weight,
        reset_questions=tuple(reset_question or ()),
        num_workers=num_workers,
        seed=seed,
        device=device,
    )
    result = train(catalog, out, config, progress=progress)
    typer.echo(
        f"best epoch {result.best_epoch} (val loss {result.best_val_loss:.4f}, vote-fraction MAE "
        f"{result.val_mae:.4f}) after {result.epochs_run} epochs; checkpoint: {result.path}"
    )
