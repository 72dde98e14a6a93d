"""Example apps and demos for breakerpanel."""
