"""Insights: media and account metrics, the metric catalog, the refresh policy and the insights export."""
