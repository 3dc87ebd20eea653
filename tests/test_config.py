"""The parameter table: one default per parameter, and every surface takes it from there."""

from __future__ import annotations

import inspect
import json

import pytest
import typer.main
from typer.testing import CliRunner

from raregal.cli import app
from raregal.config import DEFAULTS, PARAMETERS, validate
from raregal.errors import InputError
from raregal.memory import (
    check_cluster_memory,
    check_reduce_memory,
    estimate_hdbscan,
    estimate_umap,
)
from raregal.search import RareClassSearch, run_search
from raregal.synthetic import make_representations

PAPER = {
    "min_samples": 300, "min_cluster_size": 10, "n_neighbors": 50, "n_components": 5,
    "smooth_threshold": 0.5, "edge_on_threshold": 0.3, "artifact_threshold": 0.3,
    "cluster_selection_method": "leaf",
}  # fmt: skip


def test_the_table_holds_the_papers_values():
    assert {name: DEFAULTS[name] for name in PAPER} == PAPER


def test_the_estimator_defaults_are_the_table():
    assert RareClassSearch().get_params() == dict(DEFAULTS)
    assert list(inspect.signature(RareClassSearch).parameters) == [p.name for p in PARAMETERS]


@pytest.mark.parametrize("command", ["search", "run"])
def test_both_commands_offer_every_parameter_with_the_tables_default(command):
    click_command = typer.main.get_command(app).commands[command]
    options = {p.name: p for p in click_command.params}
    for parameter in PARAMETERS:
        option = options[parameter.name]
        assert parameter.option in option.opts, parameter.name
        assert option.default is None, "a CLI default would be a second copy of the table's"
        default = parameter.default
        shown = {True: "on", False: "off"}[default] if isinstance(default, bool) else default
        assert f"(default: {'none' if default is None else shown})" in option.help, parameter.name


def test_the_seed_option_is_random_state():
    command = typer.main.get_command(app).commands["search"]
    ctx = command.make_context("search", ["reps.parquet", "--out", "run", "--seed", "7"])
    assert ctx.params["random_state"] == 7


def test_stage_functions_and_memory_estimates_default_to_the_table():
    from raregal.cluster import cluster
    from raregal.reduce import reduce
    from raregal.reduce.params import UmapParams
    from raregal.select import paper_rules

    for function in (reduce, cluster, paper_rules, UmapParams, estimate_umap, estimate_hdbscan):
        for name, parameter in inspect.signature(function).parameters.items():
            if name in DEFAULTS:
                assert parameter.default == DEFAULTS[name], (function.__name__, name)
    assert inspect.signature(estimate_hdbscan).parameters["n_dims"].default == 5
    reduce_estimate = check_reduce_memory(10_000, 128, {}, ignore=True)
    assert reduce_estimate.needed == estimate_umap(10_000, 128, 50, 5).needed
    cluster_estimate = check_cluster_memory(10_000, 5, {}, ignore=True)
    assert cluster_estimate.params["min_samples"] == 300


def test_validate_fills_defaults_and_names_what_it_refuses():
    assert validate({}) == dict(DEFAULTS)
    assert validate({"min_samples": 7})["min_samples"] == 7
    with pytest.raises(InputError, match=r"'n_neighbors' must be int in \[2, inf\]; got 1"):
        validate({"n_neighbors": 1})
    with pytest.raises(InputError, match=r"'engine' must be one of 'fast_hdbscan', 'hdbscan'.*'x'"):
        validate({"engine": "x"})
    with pytest.raises(InputError, match=r"'min_dist' must be float"):
        validate({"min_dist": float("nan")})
    with pytest.raises(InputError, match=r"'features' must be a list of column names, a valid"):
        validate({"features": "("})
    with pytest.raises(InputError, match=r"unknown parameter\(s\) 'min_sample'"):
        validate({"min_sample": 5})


@pytest.mark.slow
def test_the_cli_and_the_api_record_the_same_parameters_in_run_json(tmp_path):
    """One search through the CLI and one through the API, each with two options given: both
    run.json files record every other parameter at the table's default."""
    table = tmp_path / "reps.parquet"
    make_representations(800, n_features=16, seed=0, group_sizes=(60, 40)).to_parquet(table)
    given = ["--min-samples", "10", "--n-neighbors", "10", "--n-epochs", "20"]
    result = CliRunner().invoke(app, ["search", str(table), "--out", str(tmp_path / "cli"), *given])
    assert result.exit_code == 0, result.output
    run_search(table, tmp_path / "api", min_samples=10, n_neighbors=10, n_epochs=20)
    for folder in ("cli", "api"):
        params = json.loads((tmp_path / folder / "run.json").read_text())["search"]["params"]
        assert params == {**DEFAULTS, "min_samples": 10, "n_neighbors": 10, "n_epochs": 20}
