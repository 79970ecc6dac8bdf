"""Landing exported files in SQL warehouses."""
