r"""The playground's web chart: a precomputed sweep, filtered in the browser, with no network.

A static web page has no kernel, so it cannot rerun a bandit when a slider moves.
:func:`plot_sweep` draws the results of :func:`~bandits_lib.playground.run_sweep` as a
Vega-Lite chart whose sliders only *filter* those results; :func:`offline_html` embeds
the Vega libraries in the page itself, so the chart works with the network off.

Taught in: chapters/03_8_playground.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from .playground import DEFAULT_ALPHA, DEFAULT_LAMBDA, SweepResult


def plot_sweep(sweep: SweepResult, width: int = 560) -> Any:
    r"""The interactive sweep chart (an Altair chart; rendered in the browser by Vega-Lite).

    A slider for :math:`\alpha` and a drop-down for :math:`\lambda` select one cell of
    the grid; the top panel draws the cumulative-regret curves of that setting for
    every agent (mean over seeds, band from the best to the worst seed), with the
    default setting dashed; the bottom row shows, for each agent, the final regret over
    the whole grid as a heat map, the selected cell outlined. Nothing is recomputed in
    the browser: the controls only filter :attr:`SweepResult.curves` and
    :attr:`SweepResult.final`.

    ``width`` is the widest the chart gets (pixels of plot area). Drawn by
    :func:`offline_html`, it fits the width of the page: on a narrow screen (a phone)
    the panels shrink, the heat maps wrap onto rows of their own (they are a wrapping
    ``concat``), and the legends move below their plots.

    Returns
    -------
    altair.VConcatChart
    """
    import altair as alt

    if not isinstance(sweep, SweepResult):
        raise TypeError(f"sweep must be a SweepResult (from run_sweep), got {type(sweep).__name__}")
    alphas, lambdas = sweep.alphas, sweep.lambdas
    steps = np.diff(alphas)
    if len(alphas) > 1 and np.allclose(steps, steps[0]):
        alpha_binding = alt.binding_range(min=alphas[0], max=alphas[-1], step=float(steps[0]),
                                          name="exploration weight \u03b1 ")
    else:
        alpha_binding = alt.binding_select(options=list(alphas), name="exploration weight \u03b1 ")
    alpha_value = DEFAULT_ALPHA if DEFAULT_ALPHA in alphas else alphas[len(alphas) // 2]
    lambda_value = DEFAULT_LAMBDA if DEFAULT_LAMBDA in lambdas else lambdas[len(lambdas) // 2]
    alpha = alt.param(name="alpha", value=alpha_value, bind=alpha_binding)
    lam = alt.param(name="lam", value=lambda_value,
                    bind=alt.binding_select(options=list(lambdas), name="ridge \u03bb "))
    chosen = "abs(datum.alpha - alpha) < 1e-9 && abs(datum.lambda_ - lam) < 1e-9"
    default = f"abs(datum.alpha - {DEFAULT_ALPHA}) < 1e-9 && abs(datum.lambda_ - {DEFAULT_LAMBDA}) < 1e-9"

    curves = sweep.curves.round({"mean": 2, "low": 2, "high": 2})
    agent_scale = alt.Scale(domain=list(sweep.agents))
    color = alt.Color("agent:N", scale=agent_scale, title=None, legend=alt.Legend(orient="top", labelLimit=0))
    x = alt.X("step:Q", title="interaction (step)")
    base = alt.Chart(curves)
    band = base.mark_area(opacity=0.2).encode(x=x, y=alt.Y("low:Q"), y2="high:Q", color=color) \
        .transform_filter(chosen)
    line = base.mark_line(strokeWidth=2.5).encode(
        x=x, y=alt.Y("mean:Q", title="cumulative regret (expected clicks lost)"), color=color,
        tooltip=["agent:N", "alpha:Q", "lambda_:Q", "step:Q", alt.Tooltip("mean:Q", format=".1f")],
    ).transform_filter(chosen)
    reference = base.mark_line(strokeDash=[5, 4], strokeWidth=1.2).encode(
        x=x, y="mean:Q", color=color, detail="agent:N",
    ).transform_filter(default)
    label = base.mark_text(align="left", dx=4, fontSize=12).encode(
        x=x, y="mean:Q", color=color, text=alt.Text("mean:Q", format=".0f"),
    ).transform_filter(chosen).transform_filter(f"datum.step == {sweep.horizon}")
    top = alt.layer(band, line, reference, label).properties(
        width=width, height=260,
        title=alt.TitleParams(
            text=alt.expr("'Cumulative regret at \u03b1 = ' + alpha + ', \u03bb = ' + lam"),
            subtitle=[f"mean over {len(sweep.seeds)} seeds, band: best to worst seed;",
                      f"dashed: default \u03b1 = {DEFAULT_ALPHA:g}, \u03bb = {DEFAULT_LAMBDA:g}"],
            anchor="start",
        ),
    )

    table = sweep.table().round({"mean": 1, "std": 1})
    heat_width = max(120, (width - 60 * len(sweep.agents)) // len(sweep.agents))
    midpoint = float(table["mean"].min() + table["mean"].max()) / 2  # white labels on the darker half
    panels = []
    for agent in sweep.agents:
        cells = alt.Chart(table[table["agent"] == agent])
        encode = {"x": alt.X("alpha:O", title="\u03b1", axis=alt.Axis(labelAngle=0)),
                  "y": alt.Y("lambda_:O", title="\u03bb", sort="descending")}
        rect = cells.mark_rect().encode(
            **encode,
            color=alt.Color("mean:Q", scale=alt.Scale(scheme="orangered"), title="final regret",
                            legend=alt.Legend(orient="right")),
            tooltip=["alpha:Q", "lambda_:Q", alt.Tooltip("mean:Q", title="final regret (mean)"),
                     alt.Tooltip("std:Q", title="std over seeds")],
        )
        text = cells.mark_text(fontSize=10).encode(
            **encode, text=alt.Text("mean:Q", format=".0f"),
            color=alt.condition(f"datum.mean > {midpoint}", alt.value("white"), alt.value("black")),
        )
        outline = cells.mark_rect(fill=None, stroke="black", strokeWidth=3).encode(**encode) \
            .transform_filter(chosen)
        panels.append(alt.layer(rect, text, outline).properties(
            width=heat_width, height=40 * len(lambdas) + 20,
            title=alt.TitleParams(text=[agent, f"regret at step {sweep.horizon}"], anchor="start")))
    # A wrapping concat (not hconcat): offline_html sets its number of columns to what fits.
    heat_maps = alt.concat(*panels, columns=len(panels)).resolve_scale(color="shared")
    chart = alt.vconcat(top, heat_maps).properties(usermeta={"bandits_responsive": True})
    return chart.add_params(alpha, lam).configure_view(strokeWidth=0)


def _bundle_version() -> str | None:
    import altair as alt
    import vl_convert

    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return wanted if wanted in vl_convert.get_vegalite_versions() else None


def offline_html(chart: Any, include_bundle: bool = True) -> Any:
    """HTML that draws ``chart`` with no network: the Vega libraries are in the page.

    ``vl_convert.javascript_bundle()`` (Vega, Vega-Lite and vega-embed, ~0.9 MB) is
    inlined once, wrapped in a function so that its names cannot clash with the page's
    own scripts; then ``vegaEmbed`` draws the chart (SVG renderer) into a ``div`` whose
    id is derived from the chart, and records the Vega view in
    ``window.banditsCharts[id]``.

    The chart fits its container: before drawing, every panel wider than the ``div``
    (less room for axes and legends) is narrowed, a wrapping ``concat`` gets as many
    columns as fit, and on a narrow screen legends at the side move below their plot
    and long horizontal legends wrap. When the window is resized so that the layout
    changes, the chart is drawn again with the controls' current values.

    Parameters
    ----------
    chart : altair chart or dict
        The chart, or its Vega-Lite specification.
    include_bundle : bool, default True
        Set False for a second chart on the same page (the first one brought the bundle).

    Returns
    -------
    IPython.display.HTML
    """
    import vl_convert
    from IPython.display import HTML

    spec = chart if isinstance(chart, dict) else chart.to_dict()
    spec_json = json.dumps(spec, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")
    chart_id = "bandits-chart-" + hashlib.sha1(spec_json.encode()).hexdigest()[:12]
    # The browser side of offline_html (no URL in it: the page must not fetch anything).
    # PAD: room beside a panel's plot area for its axis labels, titles and a side legend.
    fit_js = r"""
  var PAD = 90, MIN_WIDTH = 120, NARROW = 600, view = null, drawn = '', timer = null;
  function fit(original, room) {
    var s = JSON.parse(JSON.stringify(original)), narrow = room < NARROW;
    function legends(node) {
      ['color', 'fill', 'stroke', 'opacity', 'size', 'shape'].forEach(function (channel) {
        var legend = node.encoding && node.encoding[channel] && node.encoding[channel].legend;
        if (!legend || !narrow) return;
        if (legend.orient === 'left' || legend.orient === 'right') legend.orient = 'bottom';
        if (legend.orient === 'top' || legend.orient === 'bottom') {
          legend.columns = Math.max(1, Math.floor(room / 170));
        }
      });
    }
    function visit(node, space) {
      if (!node || typeof node !== 'object') return;
      legends(node);
      (node.layer || []).forEach(function (child) { visit(child, space); });
      (node.vconcat || []).forEach(function (child) { visit(child, space); });
      (node.hconcat || []).forEach(function (child) {
        visit(child, Math.max(MIN_WIDTH + PAD, space / node.hconcat.length));
      });
      if (Array.isArray(node.concat)) {
        var cell = 0;
        node.concat.forEach(function (child) {
          cell = Math.max(cell, (typeof child.width === 'number' ? child.width : MIN_WIDTH) + PAD);
        });
        var columns = Math.max(1, Math.min(node.concat.length, Math.floor(space / cell)));
        node.columns = columns;
        node.concat.forEach(function (child) { visit(child, space / columns); });
      }
      if (typeof node.width === 'number' && node.width + PAD > space) {
        node.width = Math.max(MIN_WIDTH, Math.floor(space - PAD));
      }
    }
    visit(s, room);
    return s;
  }
  function draw() {
    var room = target.clientWidth || (target.parentNode && target.parentNode.clientWidth) || 0;
    var layout = room > 0 ? fit(spec, room) : spec;
    var key = JSON.stringify(layout);
    if (key === drawn) return;
    if (view) {  // keep what the reader chose
      (layout.params || []).forEach(function (param) {
        try { param.value = view.signal(param.name); } catch (error) { /* not a signal */ }
      });
      view.finalize();
    }
    drawn = key;
    window.vegaEmbed(target, layout, {actions: false, renderer: 'svg'}).then(function (result) {
      view = result.view;
      (window.banditsCharts = window.banditsCharts || {})[id] = result.view;
    }).catch(function (error) { target.textContent = 'Chart error: ' + error; });
  }
  draw();
  window.addEventListener('resize', function () {
    clearTimeout(timer);
    timer = setTimeout(draw, 200);
  });
"""
    parts = [f'<div id="{chart_id}" class="bandits-vega-chart"></div>']
    if include_bundle:
        bundle = vl_convert.javascript_bundle(vl_version=_bundle_version())
        parts.append(f"<script>if (!window.vegaEmbed) {{ (function () {{\n{bundle}\n}})(); }}</script>")
    parts.append(
        "<script>(function () {\n"
        f"  var spec = {spec_json};\n"
        f"  var id = '{chart_id}', target = document.getElementById(id);\n"
        "  if (!window.vegaEmbed) {\n"
        "    target.textContent = 'The chart needs the Vega libraries (offline_html).'; return;\n"
        "  }\n"
        + fit_js +
        "})();</script>"
    )
    return HTML("\n".join(parts))


__all__ = ["plot_sweep", "offline_html"]
