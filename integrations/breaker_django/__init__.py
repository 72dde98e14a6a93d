"""breakerbox for Django: settings, middleware, template tags, checks and command.

Not built yet: this package is reserved so the distribution layout is fixed.
See docs/roadmap.md for what it will hold and which issue delivers it.
"""
