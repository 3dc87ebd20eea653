"""The discovery loop's parameters are written once (config.DISCOVERY_PARAMETERS) and reach the
estimators and the commands under the same names and defaults."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from raregal.cli import app
from raregal.cli.options import option_help
from raregal.config import (
    DISCOVERY_DEFAULTS,
    FIND_PARAMETERS,
    QUEUE_PARAMETERS,
    validate_discovery,
)
from raregal.discover.anomaly import AnomalyQueue
from raregal.discover.examples import ExampleSearch
from raregal.errors import InputError


@pytest.mark.parametrize(("estimator", "parameters"), [
    (AnomalyQueue, QUEUE_PARAMETERS),
    (ExampleSearch, tuple(p for p in FIND_PARAMETERS)),
])  # fmt: skip
def test_estimators_take_the_tables_defaults(estimator, parameters):
    params = estimator().get_params()
    assert params == {p.name: p.default for p in parameters}
    assert all(DISCOVERY_DEFAULTS[name] == value for name, value in params.items())


@pytest.mark.parametrize(("command", "parameters"), [("rank", QUEUE_PARAMETERS),
                                                      ("find", FIND_PARAMETERS)])  # fmt: skip
def test_commands_offer_each_parameter_with_its_default(command, parameters):
    click_command = typer.main.get_command(app).commands[command]
    options = {p.name: p for p in click_command.params}
    for parameter in parameters:
        option = options[parameter.name]
        assert parameter.option in option.opts
        assert option.default is None, "a CLI default would be a second copy of the table's"
        assert option.help == option_help(parameter)
    assert CliRunner().invoke(app, [command, "--help"]).exit_code == 0


def test_unknown_or_bad_values_are_refused_by_name():
    with pytest.raises(InputError, match="unknown parameter"):
        validate_discovery({"n_neighbours": 3})
    with pytest.raises(InputError, match=r"'variety_width' must be float in \[0.0, inf\]; got -1"):
        validate_discovery({"variety_width": -1.0})
