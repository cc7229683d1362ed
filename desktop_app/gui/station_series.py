"""The series pane for one station: the shown variable in full (observed, model,
baseline, coarse) and the other variables as context, all in the user's display units."""

from __future__ import annotations

from desktop_app.core.display import DisplayUnits, conversion
from desktop_app.core.variables import get_variable
from desktop_app.gui.region_view import RegionView
from desktop_app.viz.timeseries import Series, TimeSeriesPlot


def show_station_series(plot: TimeSeriesPlot, view: RegionView, station: int,
                        variable: str, units: DisplayUnits, t: int) -> None:
    """Draw station ``station``'s series into ``plot`` with the cursor at step ``t``."""
    s = view.station_series(station, variable)
    conv = conversion(s.units, units)  # series are shown in the user's units
    series = []
    if s.observed is not None:
        series.append(Series("observed", conv(s.observed), "#f0f0f0", symbols=True))
    if s.forecast is not None:
        series.append(Series("model forecast", conv(s.forecast), "#ff8c1a"))
    series.append(Series(f"{view.baseline_method} baseline", conv(s.baseline), "#33b5ff"))
    series.append(Series("coarse (bilinear)", conv(s.coarse), "#a0a0a0", dashed=True))
    plot.set_series(s.title, view.times, series, conv.symbol,
                    s.flagged if s.observed is not None else None)
    context = []
    for other in view.variables:
        if other == variable:
            continue
        o = view.station_series(station, other)
        oc = conversion(o.units, units)
        lines = [Series(f"{view.baseline_method} baseline", oc(o.baseline), "#33b5ff")]
        if o.forecast is not None:
            lines.append(Series("model forecast", oc(o.forecast), "#ff8c1a"))
        if o.observed is not None:
            lines.insert(0, Series("observed", oc(o.observed), "#f0f0f0"))
        context.append((f"{get_variable(other).name.replace('_', ' ')} ({oc.symbol})", lines))
    plot.set_context(view.times, context)
    plot.set_cursor(view.times[t])
