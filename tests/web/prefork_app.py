"""A Flask app with the dashboard, served by two gunicorn workers in the prefork history test."""

from __future__ import annotations

import os

from flask import Flask

from breaker_flask import Breakers, breakers, dashboard_blueprint

app = Flask(__name__)
app.config["BREAKERS"] = {"dependencies": {"inventory": {"failure_threshold": 1000}}}
Breakers(app)
app.register_blueprint(dashboard_blueprint(can_view=lambda: True), url_prefix="/breakers")


@app.get("/call")
def call() -> str:
    breakers["inventory"].call(int)
    return str(os.getpid())
