"""A Flask app with Prometheus metrics, served by gunicorn workers in the multiprocess test."""

from __future__ import annotations

import os

from flask import Flask

from breaker_flask import Breakers, breakers, enable_metrics, metrics_view

app = Flask(__name__)
app.config["BREAKERS"] = {"dependencies": {"inventory": {"failure_threshold": 1000}}}
Breakers(app)
enable_metrics(app)
app.add_url_rule("/metrics", view_func=metrics_view)


@app.get("/call")
def call() -> str:
    breakers["inventory"].call(int)
    return str(os.getpid())


@app.get("/open")
def force_open() -> str:
    breakers["inventory"].force_open()
    return str(os.getpid())
