"""The ``instagram`` connection's one owner: its type, its extras (keys, parsing, lifecycle), the account's ids,
and every write of it. Everyone else calls this package; nobody re-implements its rules."""
