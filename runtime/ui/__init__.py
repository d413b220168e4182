"""The web dashboard's files (`static/`), served at `/ui` by `runtime.server.ui`: no code.

Plain HTML, CSS and JavaScript written for the browser as they are (no build step, no
CDN). The page reads only the management API (docs/admin-api.md) with the admin key the
operator types once per browser session. Vendored: uPlot 1.6.32 (`uplot.min.js`,
`uplot.min.css`, its MIT licence in `uplot.LICENSE`), for the usage charts.
"""
