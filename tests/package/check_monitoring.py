#!/usr/bin/env python3
"""check_monitoring.py - deploy/'s dashboard and alerting rules against a
real metrics file (tests/run-package.sh).

  check_monitoring.py DASHBOARD RULES METRICS RECORDING_OUT

* the dashboard is a Grafana dashboard: unique panel ids, panels inside
  the 24-column grid without overlapping, every query with an expression
  and its own refId, on the ${datasource} variable the dashboard defines;
* every metric an expression of the dashboard or the rules names is in
  METRICS (a file the gateway wrote), and no expression names any other
  metric: PromQL functions, keywords, grouping labels and Grafana
  variables aside, each identifier left must be a starttls_guard_ sample
  or family of that file;
* the dashboard's expressions, with Grafana's variables replaced, go to
  RECORDING_OUT as recording rules, so `promtool check rules` parses each
  with Prometheus' own parser.
Prints one line per check; exits 1 on the first failure.
"""
import json
import re
import sys

import yaml

PROMQL_WORDS = {
    # aggregations and their modifiers
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk",
    "quantile", "count_values", "group", "by", "without",
    # binary operators and vector matching
    "and", "or", "unless", "on", "ignoring", "group_left", "group_right", "bool",
    "offset",
    # functions used or likely
    "rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets",
    "histogram_quantile", "time", "timestamp", "absent", "absent_over_time",
    "sort", "sort_desc", "clamp_min", "clamp_max", "vector", "scalar",
    "label_replace", "label_join", "max_over_time", "min_over_time",
    "avg_over_time", "sum_over_time", "count_over_time", "last_over_time",
    "abs", "ceil", "floor", "round", "day_of_month", "hour",
}


def fail(msg):
    print("  FAIL: " + msg)
    sys.exit(1)


def ok(msg):
    print("  ok: " + msg)


def metric_names(path):
    """Family names (HELP/TYPE) and sample names of a text-format file."""
    fams, samples = set(), set()
    for line in open(path):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            fams.add(line.split()[2])
        elif line.strip() and not line.startswith("#"):
            samples.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return fams | samples


def strip_expr(expr):
    """The identifiers of a PromQL expression that can only be metric names
    or functions: strings, label matchers {...}, ranges [...], grouping
    label lists by (...)/on (...)/..., numbers and Grafana variables out."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)
    e = re.sub(r"\$\{?[a-zA-Z_]+\}?", " ", e)
    e = re.sub(r"\b\d+(\.\d+)?(e[+-]?\d+)?\b", " ", e)
    return re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e)


def check_names(where, expr, known):
    for ident in strip_expr(expr):
        if ident in PROMQL_WORDS:
            continue
        if not ident.startswith("starttls_guard_"):
            fail("%s: %r names %s, not a metric of the gateway" % (where, expr, ident))
        if ident not in known:
            fail("%s: %s is not in the metrics file" % (where, ident))


def grafana_to_promql(expr):
    """Grafana's variables as Prometheus would see them after templating."""
    e = expr.replace("$__rate_interval", "1m").replace("$__range", "1h")
    return e.replace('=~"$instance"', '=~".*"')


def main():
    dash_path, rules_path, metrics_path, rec_out = sys.argv[1:5]
    known = metric_names(metrics_path)
    if not any(n.startswith("starttls_guard_") for n in known):
        fail("%s holds no starttls_guard_ metric" % metrics_path)

    dash = json.load(open(dash_path))
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    if variables.get("datasource", {}).get("query") != "prometheus":
        fail("dashboard: no Prometheus datasource variable")
    ids, cells, exprs = set(), {}, []
    for p in dash["panels"]:
        if p["id"] in ids:
            fail("dashboard: panel id %d twice" % p["id"])
        ids.add(p["id"])
        g = p["gridPos"]
        if g["x"] < 0 or g["w"] <= 0 or g["x"] + g["w"] > 24 or g["h"] <= 0:
            fail("dashboard: %r outside the grid" % p["title"])
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    fail("dashboard: %r overlaps %r" % (p["title"], cells[(x, y)]))
                cells[(x, y)] = p["title"]
        if p["type"] == "row":
            continue
        if not p.get("description"):
            fail("dashboard: %r has no description" % p["title"])
        if p["datasource"].get("uid") != "${datasource}":
            fail("dashboard: %r not on ${datasource}" % p["title"])
        refs = set()
        for t in p["targets"]:
            if not t.get("expr") or t["refId"] in refs:
                fail("dashboard: %r: a query without expr or a refId twice" % p["title"])
            refs.add(t["refId"])
            if t["datasource"].get("uid") != "${datasource}":
                fail("dashboard: %r query %s not on ${datasource}" % (p["title"], t["refId"]))
            check_names("dashboard %r" % p["title"], t["expr"], known)
            exprs.append((p["title"], t["refId"], t["expr"]))
    q = variables["instance"]["query"]["query"]
    m = re.match(r"label_values\((\w+), *instance\)", q)
    if not m or m.group(1) not in known:
        fail("dashboard: variable instance from %r" % q)
    ok("dashboard: %d panels, %d queries on %d metric names, all in the metrics file" % (
        len(ids), len(exprs), len({i for _, _, e in exprs for i in strip_expr(e)} - PROMQL_WORDS)))

    rules = yaml.safe_load(open(rules_path))
    n = 0
    for g in rules["groups"]:
        for r in g["rules"]:
            check_names("rule %s" % r.get("alert", r.get("record")), r["expr"], known)
            n += 1
    ok("rules: %d expressions, every metric in the metrics file" % n)

    rec = {"groups": [{"name": "dashboard-queries", "rules": [
        {"record": "dashboard:panel%d:%s" % (i, ref.lower()), "expr": grafana_to_promql(e)}
        for i, (_, ref, e) in enumerate(exprs)]}]}
    with open(rec_out, "w") as f:
        yaml.safe_dump(rec, f, sort_keys=False)


if __name__ == "__main__":
    main()
