"""Tether's edge: settings, workspace, the run pipeline and the `tether` CLI."""
