"""Connecting Instagram accounts: the authorization chain, the command line, and the API server plugin."""
