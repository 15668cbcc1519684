"""Layouts: functions that return Dash component trees. They never run SQL."""
