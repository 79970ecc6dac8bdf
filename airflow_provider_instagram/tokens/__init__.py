"""Keeping accounts' tokens alive: when to refresh (policy), who (plan), the refresh itself, and its report."""
