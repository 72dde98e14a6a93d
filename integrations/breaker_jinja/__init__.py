"""breakerbox for Jinja2: the {% breaker %} block tag shared by Flask and Starlette.

Not built yet: this package is reserved so the distribution layout is fixed.
See docs/roadmap.md for what it will hold and which issue delivers it.
"""
