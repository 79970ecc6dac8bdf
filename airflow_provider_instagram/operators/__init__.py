"""Operators: Instagram data into storage and warehouses."""
