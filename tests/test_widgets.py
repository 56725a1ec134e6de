"""The playground: live explorers (callbacks, validation) and the precomputed sweep chart."""

import base64
import html
import json
import math
import re

import numpy as np
import pytest

from bandits_lib import LinUCBAgent, run_comparison, summarize
from bandits_lib.playground import (
    DEFAULT_ALPHA,
    DEFAULT_LAMBDA,
    configured_agent,
    run_sweep,
    training_checkpoints,
)
from bandits_lib.style import COLUMN_WIDTH_IN, COLUMN_WIDTH_PX
from bandits_lib.web import offline_html, plot_sweep
from bandits_lib.widgets import bonus_explorer, regret_explorer

pytest.importorskip("ipywidgets")

HORIZON = 60


@pytest.fixture(scope="module")
def linucb_explorer():
    return regret_explorer(agent="LinUCB", horizon=HORIZON)


def regret_curves(explorer):
    """Label -> y data of the cumulative-regret panel's curves."""
    return {line.get_label(): np.asarray(line.get_ydata()) for line in explorer.figure.axes[0].lines}


def test_regret_update_changes_the_figure_data():
    explorer = regret_explorer(agent="LinUCB", horizon=HORIZON, alpha=1.0)
    before = regret_curves(explorer)
    reference = next(label for label in before if label.startswith("default"))
    explorer.update(alpha=0.0)
    after = regret_curves(explorer)
    current = next(label for label in after if not label.startswith("default"))
    assert "\u03b1=0," in current and explorer.values["alpha"] == 0.0
    assert explorer.controls["alpha"].value == 0.0
    old_current = next(y for label, y in before.items() if not label.startswith("default"))
    assert not np.array_equal(after[current], old_current)
    np.testing.assert_array_equal(after[reference], before[reference])  # the reference run does not move


def test_moving_a_control_reruns_and_redraws(linucb_explorer):
    explorer = linucb_explorer
    figure = explorer.figure
    explorer.controls["lambda_"].value = 10.0
    assert explorer.figure is not figure
    assert explorer.values["lambda_"] == 10.0
    assert any("\u03bb=10" in label for label in regret_curves(explorer))
    explorer.update(lambda_=DEFAULT_LAMBDA, alpha=DEFAULT_ALPHA)
    assert len(regret_curves(explorer)) == 1  # the default setting is its own reference
    legend = [text.get_text() for text in explorer.figure.legends[0].get_texts()]
    assert any("the default setting" in text for text in legend)


def test_the_plotted_regret_is_the_agents_regret():
    """The explorer's curve ends where an independent run of the same agent ends."""
    explorer = regret_explorer(agent="LinUCB", alpha=0.5, lambda_=2.0, horizon=HORIZON, seed=3)
    df = run_comparison({"LinUCB": LinUCBAgent(50, 9, alpha=0.5, lambda_=2.0)}, HORIZON, seeds=[3],
                        progress=False)
    expected = summarize(df)["cumulative_regret_mean"].iloc[0]
    curve = next(y for label, y in regret_curves(explorer).items() if not label.startswith("default"))
    assert curve[-1] == pytest.approx(expected)


def test_shock_and_agent_change():
    explorer = regret_explorer(agent="LinUCB", horizon=HORIZON)
    explorer.update(shock=True)
    shock_lines = [line for line in explorer.figure.axes[0].lines if line.get_label() == "market shock"]
    assert len(shock_lines) == 1 and shock_lines[0].get_xdata()[0] == HORIZON // 2
    explorer.controls["agent"].value = "Neural-LinUCB hybrid"
    assert explorer.values["agent"] == "Neural-LinUCB hybrid" and explorer.values["lr"] is None
    assert not explorer.controls["lr"].disabled and explorer.controls["lr"].value == pytest.approx(1e-4)
    explorer.controls["lr"].value = 1e-3
    assert explorer.values["lr"] == pytest.approx(1e-3)
    assert "lr=1e-03" in explorer.figure.axes[0].get_legend_handles_labels()[1][0]


@pytest.mark.parametrize("changes, error, words", [
    ({"alpha": -0.1}, ValueError, "alpha must be >= 0"),
    ({"alpha": 7.0}, ValueError, "alpha must be <= 5"),
    ({"alpha": float("nan")}, ValueError, "alpha must be finite"),
    ({"alpha": "big"}, TypeError, "alpha must be a real number"),
    ({"lambda_": 0.0}, ValueError, "lambda_ must be >= 0.01"),
    ({"lr": 1e-3}, ValueError, "LinUCB has none, so lr must be None"),
    ({"agent": "UCB1"}, ValueError, "agent must be one of"),
    ({"horizon": 5}, ValueError, "horizon must be >= 10"),
    ({"horizon": 2.5}, TypeError, "horizon must be an integer"),
    ({"seed": -1}, ValueError, "seed must be >= 0"),
    ({"shock": "yes"}, TypeError, "shock must be True or False"),
    ({"colour": "red"}, TypeError, "unknown setting"),
])
def test_bad_values_are_rejected_and_change_nothing(linucb_explorer, changes, error, words):
    explorer = linucb_explorer
    values, figure = dict(explorer.values), explorer.figure
    controls = {name: control.value for name, control in explorer.controls.items()}
    with pytest.raises(error, match=words):
        explorer.update(**changes)
    assert explorer.values == values and explorer.figure is figure
    assert {name: control.value for name, control in explorer.controls.items()} == controls


def test_a_rejected_control_value_is_reported_and_undone(linucb_explorer):
    explorer = linucb_explorer
    figure, lr_shown = explorer.figure, explorer.controls["lr"].value
    assert explorer.controls["lr"].disabled  # LinUCB has no learning rate
    explorer.controls["lr"].value = 0.02  # e.g. set from code
    assert "lr must be None" in explorer.status.value
    assert explorer.values["lr"] is None and explorer.figure is figure
    assert explorer.controls["lr"].value == lr_shown


def test_constructor_rejects_bad_values():
    with pytest.raises(ValueError, match="agent must be one of"):
        regret_explorer(agent="Thompson")
    with pytest.raises(ValueError, match="persona must be one of"):
        bonus_explorer(persona="parrot_owner", max_steps=20)


def bonus_bars(explorer):
    """Exploitation and bonus bar heights of the bonus explorer's left panel."""
    containers = explorer.figure.axes[0].containers
    return (np.array([bar.get_height() for bar in containers[0]]),
            np.array([bar.get_height() for bar in containers[1]]))


def test_bonus_explorer_starts_from_the_closed_form_and_shrinks():
    explorer = bonus_explorer(agent="LinUCB", alpha=1.5, lambda_=2.0, steps=0, max_steps=50)
    exploitation, bonus = bonus_bars(explorer)
    # Untrained LinUCB: theta = 0, A = lambda I, x has two ones: bonus = alpha * sqrt(2 / lambda).
    np.testing.assert_allclose(exploitation, 0.0)
    np.testing.assert_allclose(bonus, 1.5 * math.sqrt(2 / 2.0), rtol=1e-6)
    explorer.controls["steps"].value = 50
    trained_exploitation, trained_bonus = bonus_bars(explorer)
    assert trained_bonus.max() <= bonus.max() + 1e-9 and trained_bonus.mean() < bonus.mean()
    assert np.any(trained_exploitation != 0)
    explorer.update(alpha=0.0)
    np.testing.assert_allclose(bonus_bars(explorer)[1], 0.0)
    mean_curve = explorer.figure.axes[1].lines[0]
    np.testing.assert_array_equal(mean_curve.get_xdata(), training_checkpoints(50))


def test_bonus_explorer_rejects_steps_off_the_checkpoints():
    explorer = bonus_explorer(max_steps=50)
    with pytest.raises(ValueError, match=r"steps must be one of the checkpoints \(0, 10, 20, 50\)"):
        explorer.update(steps=7)
    with pytest.raises(ValueError, match="max_steps must be >= 1"):
        explorer.update(max_steps=0)
    explorer.update(max_steps=100, steps=100)
    assert tuple(explorer.controls["steps"].options) == training_checkpoints(100)


def test_static_renderers_get_the_figure():
    explorer = bonus_explorer(max_steps=20)
    bundle, metadata = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert 0.9 * COLUMN_WIDTH_PX <= metadata["image/png"]["width"] <= COLUMN_WIDTH_PX


def test_the_figure_fits_the_column_and_has_alt_text():
    """The image is shown one column wide (a 2x PNG declared at its CSS width) and says what it shows."""
    explorer = regret_explorer(agent="LinUCB", horizon=HORIZON, alpha=0.5)
    assert explorer.figure.get_figwidth() == pytest.approx(COLUMN_WIDTH_IN)
    page = explorer.picture.value
    width = int(re.search(r'width="(\d+)"', page).group(1))
    assert 0.9 * COLUMN_WIDTH_PX <= width <= COLUMN_WIDTH_PX  # nothing sticks out, nothing shrinks it
    png = base64.b64decode(re.search(r"base64,([^\"]+)", page).group(1))
    assert int.from_bytes(png[16:20], "big") == pytest.approx(2 * width, abs=2)
    alt = html.unescape(re.search(r'alt="([^"]*)"', page).group(1))
    assert alt == explorer.alt_text and "cumulative regret" in alt
    final = {label: y[-1] for label, y in regret_curves(explorer).items()}
    assert all(f"{value:.1f}" in alt for value in final.values())  # the numbers drawn are the numbers said
    explorer.update(alpha=2.0)
    assert explorer.alt_text != alt and "α=2" in explorer.alt_text
    assert html.escape(explorer.alt_text, quote=True) in explorer.picture.value


# ---------------------------------------------------------------------- the sweep
@pytest.fixture(scope="module")
def small_sweep():
    return run_sweep(agents=("LinUCB",), alphas=(0.0, 1.0), lambdas=(1.0, 3.0), seeds=(0, 1), horizon=40, n_points=5)


def test_sweep_final_regret_matches_independent_runs(small_sweep):
    df = run_comparison({"a": configured_agent("LinUCB", alpha=1.0, lambda_=3.0)}, 40, seeds=[0, 1], progress=False)
    per_seed = df.groupby("seed")["regret"].sum()
    rows = small_sweep.final.query("alpha == 1.0 and lambda_ == 3.0").set_index("seed")["regret"]
    np.testing.assert_allclose(rows.sort_index().to_numpy(), per_seed.sort_index().to_numpy())
    curve = small_sweep.curves.query("alpha == 1.0 and lambda_ == 3.0")
    assert curve["step"].tolist() == [0, 10, 20, 30, 40]
    assert curve["mean"].iloc[0] == 0.0 and curve["mean"].iloc[-1] == pytest.approx(per_seed.mean())
    assert curve["low"].iloc[-1] == pytest.approx(per_seed.min())


def test_sweep_best_is_the_minimum(small_sweep):
    table = small_sweep.table()
    best = small_sweep.best().iloc[0]
    assert best["best_regret"] == table["mean"].min() and best["worst_regret"] == table["mean"].max()
    assert small_sweep.n_runs == 2 * 2 * 2


def test_sweep_chart_binds_controls_to_the_grid(small_sweep):
    spec = plot_sweep(small_sweep).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert params["alpha"]["bind"]["input"] == "range"
    assert (params["alpha"]["bind"]["min"], params["alpha"]["bind"]["max"], params["alpha"]["bind"]["step"]) == (
        0.0, 1.0, 1.0)
    assert params["lam"]["bind"]["options"] == [1.0, 3.0]
    assert "alpha" in json.dumps(spec["vconcat"][0]) and "lam" in json.dumps(spec["vconcat"][0])


def test_offline_html_carries_the_libraries_once(small_sweep):
    chart = plot_sweep(small_sweep)
    page = offline_html(chart).data
    assert page.count("window.vegaEmbed=") == 1 and page.count("<script>") == 2
    chart_script = page.split("<script>")[-1].replace(json.dumps(chart.to_dict()["$schema"]), "")
    assert "http" not in chart_script  # nothing to fetch (the $schema URL is only a version tag)
    bare = offline_html(chart, include_bundle=False).data
    assert "window.vegaEmbed=" not in bare and len(bare) < len(page) / 10
    assert page.split('"')[1] == bare.split('"')[1]  # same chart, same id


@pytest.mark.parametrize("kwargs, words", [
    ({"agents": ("UCB1",)}, "agents\\[0\\] must be one of"),
    ({"alphas": ()}, "alphas must be a non-empty sequence"),
    ({"alphas": (-1.0,)}, "alphas\\[0\\] must be >= 0"),
    ({"lambdas": (1.0, 1.0)}, "lambdas must not repeat"),
])
def test_sweep_rejects_bad_grids(kwargs, words):
    with pytest.raises(ValueError, match=words):
        run_sweep(**kwargs)
