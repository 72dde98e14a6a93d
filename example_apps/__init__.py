"""Example apps and demos for breakerbox."""
