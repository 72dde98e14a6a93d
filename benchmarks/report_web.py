"""Tables and verdict lines of the web integrations' and the Redis storage's sections."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from benchmarks.report_format import (
    ADDED_METHOD,
    added_header,
    added_row,
    added_verdict,
    pct,
    quartiles,
    quartiles_note,
    yes,
)

__all__ = [
    "FRAMEWORK_KEYS",
    "INTEGRATIONS",
    "redis_table",
    "web_notes",
    "web_tables",
    "web_verdicts",
]

FRAMEWORK_KEYS = ("django", "flask", "starlette")
"""The frameworks' keys in the results, in report order."""

INTEGRATIONS = {
    "django": "BreakerMiddleware",
    "flask": "Breakers extension",
    "starlette": "BreakerMiddleware",
}
"""What is measured in each framework, for titles and verdicts."""

Table = Callable[[Sequence[str], Iterable[Sequence[str]]], list[str]]


def _title(key: str, section: dict[str, Any]) -> str:
    return f"{section.get('framework', key.title())} {INTEGRATIONS[key]}"


def _not_measured(key: str, section: dict[str, Any] | None) -> str | None:
    if section is None:
        return f"{_title(key, {})}: not run"
    if section.get("measured"):
        return None
    word = "missing" if section.get("missing") else "not measured"
    return f"{_title(key, section)}: {word} ({section['reason']})"


def _framework_table(key: str, section: dict[str, Any], table: Table) -> list[str]:
    route = next(iter(section["routes"].values()))
    clock = section.get("clock", "wall")
    other = "wall" if clock == "cpu" else "cpu"
    clock_text = "the thread's CPU time" if clock == "cpu" else "wall-clock time"
    lines = [
        f"{_title(key, section)} cost per request, {section['framework']} "
        f"{section['version']}: {section['driver']} (in its own child process), "
        f"GET with browser-like headers, a 30-byte JSON answer; us per request ({clock_text}), "
        f"median of {section['rounds']} rounds of {route['blocks']} blocks of "
        f"{route['block']} requests per side, the sides taking turns within each round; "
        f"{ADDED_METHOD}; quartiles: of the rounds' ratios; {other}: the per-round figure "
        f"on {other} time",
    ]
    rows = []
    for data in section["routes"].values():
        row = added_row(
            [
                f"{data['title']} ({data['path']})",
                str(data["requests_per_round"]),
                f"{data['without']['median_us']:.2f}",
                f"{data['with']['median_us']:.2f}",
                f"{data['added_us']:+.2f}",
            ],
            data,
            f"< +{data['target_added_pct']:g}%",
        )
        extra = [
            quartiles(data["round_added_pct"]),
            pct(data[f"{other}_round_added_pct"]["median"]),
        ]
        rows.append([*row[:-1], *extra, row[-1]])
    header = added_header(["route", "N", "without us", "with us", "added us"])
    lines += table([*header[:-1], "quartiles", other, header[-1]], rows)
    references = section["routes"]["plain"]["references"]
    if references:
        lines.append("")
        lines.append("references on the plain path, timed in the same rounds, against 'without':")
        rows = [
            [
                data["title"],
                f"{data['median_us']:.2f}",
                pct(data["added_pct"]),
                pct(data["median_round_added_pct"]),
                quartiles(data["round_added_pct"]),
                pct(data[f"{other}_round_added_pct"]["median"]),
            ]
            for data in references.values()
        ]
        lines += table(["reference", "us", "added", "per-round", "quartiles", other], rows)
    return lines


def web_tables(results: dict[str, Any], table: Table) -> list[list[str]]:
    """One section of lines per framework (one line when it was not measured)."""
    sections = []
    for key in FRAMEWORK_KEYS:
        section = results.get(key)
        skipped = _not_measured(key, section)
        if skipped is not None:
            sections.append([f"{skipped}: no table"])
        else:
            assert section is not None
            sections.append(_framework_table(key, section, table))
    return sections


def _rate(value: float) -> str:
    return f"{value / 1e6:.2f}M"


def redis_table(results: dict[str, Any], table: Table) -> list[str]:
    """The Redis storage's closed-call table and the 4-process table."""
    redis = results.get("redis")
    if redis is None or not redis.get("measured"):
        word = "missing" if redis and redis.get("missing") else "not measured"
        reason = redis["reason"] if redis else "not run"
        return [f"Redis storage: {word} ({reason}): no table"]
    closed = redis["closed_call"]
    lines = [
        f"Redis storage, a closed call: {closed['code']}, storage {redis['storage']} (Redis "
        f"{redis['server']}, {redis['driver']}) against memory://; ns per call, median of "
        f"{closed['rounds']} rounds; ratio = redis / memory of the medians; per-round: median "
        "of the rounds' redis/memory ratios",
    ]
    target = f"<= {closed['target_ratio']:g}x"
    header = ["case", "N", "memory ns", "redis ns", "added ns", "ratio", "met", "per-round"]
    lines += table(
        [*header, "met", "target"],
        [
            [
                "closed call",
                str(closed["calls_per_round"]),
                f"{closed['memory']['median_ns']:.1f}",
                f"{closed['redis']['median_ns']:.1f}",
                f"{closed['added_ns']:+.1f}",
                f"{closed['ratio']:.2f}x",
                yes(closed["target_met"]),
                f"{closed['median_round_ratio']:.2f}x",
                yes(closed["median_round_target_met"]),
                target,
            ]
        ],
    )
    run = redis["processes"]
    lines += [
        "",
        f"{run['processes']} processes, each calling a trivial function through the breaker as "
        f"fast as it can for {run['seconds_per_round']:g} s per round, {run['rounds']} rounds per "
        f"storage, the two groups taking turns ({run['cpu_count']} CPUs); calls per second, "
        "median of the rounds",
    ]
    rows = []
    for key, title in (("memory", "memory:// (a breaker each)"), ("redis", "redis (one shared)")):
        data = run[key]
        rows.append(
            [
                title,
                _rate(data["total_calls_per_s"]),
                _rate(data["per_process_calls_per_s"]),
                _rate(data["slowest_process_calls_per_s"]),
                _rate(data["fastest_process_calls_per_s"]),
            ]
        )
    lines += table(["storage", "total/s", "per process/s", "slowest", "fastest"], rows)
    lines.append(
        f"redis / memory: {run['ratio']:.2f}x (per-round {run['median_round_ratio']:.2f}x); "
        f"the shared window counted {run['shared_window_calls']} calls, the workers made "
        f"{run['worker_calls']} ({'all counted' if run['all_counted'] else 'NOT all counted'}); "
        f"Redis healthy throughout: {yes(run['healthy'])}; keys deleted {redis['keys_deleted']}, "
        f"left {redis['keys_left']}"
    )
    return lines


def web_verdicts(results: dict[str, Any]) -> list[str]:
    """Verdict lines for every framework and the Redis storage (indented, no heading)."""
    lines = []
    for key in FRAMEWORK_KEYS:
        section = results.get(key)
        skipped = _not_measured(key, section)
        if skipped is not None:
            lines.append(f"  {skipped}")
            continue
        assert section is not None
        title = _title(key, section)
        for data in section["routes"].values():
            limit = data["target_added_pct"]
            verdict = added_verdict(data, limit, strict=True) + quartiles_note(data, limit)
            lines.append(f"  {title} ({data['title']}): {verdict}")
        for data in section["routes"]["plain"]["references"].values():
            lines.append(
                f"  {section['framework']} {data['title']} (reference, plain path): "
                f"{pct(data['added_pct'])} (per-round {pct(data['median_round_added_pct'])}, "
                f"quartiles {quartiles(data['round_added_pct'])})"
            )
    redis = results.get("redis")
    if redis is None or not redis.get("measured"):
        lines.append("  Redis storage: not measured")
        return lines
    closed = redis["closed_call"]
    verb = "met" if closed["target_met"] else "NOT met"
    sign = "<=" if closed["target_met"] else ">"
    per_round = "met" if closed["median_round_target_met"] else "NOT met"
    lines.append(
        f"  Redis storage (closed call): target {verb}: {closed['ratio']:.2f}x {sign} "
        f"{closed['target_ratio']:g}x memory (per-round {closed['median_round_ratio']:.2f}x: "
        f"{per_round})"
    )
    run = redis["processes"]
    lines.append(
        f"  Redis storage ({run['processes']} processes, one shared breaker): "
        f"{_rate(run['redis']['total_calls_per_s'])} calls/s in total, "
        f"{_rate(run['redis']['per_process_calls_per_s'])} per process; memory storage "
        f"{_rate(run['memory']['total_calls_per_s'])} and "
        f"{_rate(run['memory']['per_process_calls_per_s'])}: {run['ratio']:.2f}x (no target)"
    )
    if not run["all_counted"] or redis["keys_left"]:
        lines.append("  Redis storage: NOT every call was counted, or keys were left behind")
    return lines


def web_notes(results: dict[str, Any]) -> list[str]:
    """What each side of each framework's table is (indented, no heading)."""
    lines = []
    for key in FRAMEWORK_KEYS:
        section = results.get(key)
        if section is None or not section.get("measured"):
            continue
        plain = section["routes"]["plain"]
        sides = [plain["without"], plain["with"], *plain["references"].values()]
        for side in sides:
            lines.append(f"  {section['framework']}, {side['title']}: {side['app']}")
    return lines
