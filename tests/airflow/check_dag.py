#!/usr/bin/env python3
"""Structural check of deploy/airflow/dags/historical_fetch.py without Airflow (python3 standard library only).

    python3 tests/airflow/check_dag.py deploy/airflow/dags/historical_fetch.py
        compiles the file, reads it with `ast` and checks the DAG's settings, tasks, their order, their
        commands and the batch_failed alert task; prints one line per failed check and exits 1, or prints "ok".
    python3 tests/airflow/check_dag.py DAG_FILE --print-commands
        prints every `breadboard ...` command line the file contains, one a line, and exits 0.

It reads the source, it does not run it: values must be literals, module-level constants or os.environ.get(...,
default) (the default is taken), which is how the DAG is written so that this check can read it. What the templates
render to, and what the commands receive, is tests/airflow/render_dag.py's part.
"""

from __future__ import annotations

import ast
import os
import py_compile
import re
import sys
import tempfile

DAG_ID = "historical_fetch"
TASKS = {"fetch_symbols": "fetch", "validate_data": "validate", "write_clickhouse": "write"}
CHAIN = [("fetch_symbols", "validate_data"), ("validate_data", "write_clickhouse")]
ALERT = "batch_failed"
UNKNOWN = "<expr>"
RUN_ID_TEMPLATE = re.compile(r"\{\{\s*run_id\s*(\|[^}]*)?\}\}")


class Dag:
    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.constants: dict[str, object] = {}
        self.functions = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.constants[node.targets[0].id] = node.value

    def value(self, node: ast.AST | None):
        """A literal's value; names and os.environ.get(NAME, default) resolved; UNKNOWN otherwise."""
        if node is None:
            return None
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.value(self.constants[node.id])
        if isinstance(node, ast.Call) and _dotted(node.func) in ("os.environ.get", "os.getenv") and len(node.args) == 2:
            return self.value(node.args[1])
        if isinstance(node, ast.JoinedStr):
            return "".join(str(self.value(v.value)) if isinstance(v, ast.FormattedValue) else str(v.value) for v in node.values)
        return UNKNOWN

    def node(self, node: ast.AST | None) -> ast.AST | None:
        """Follows a module-level name to the expression assigned to it."""
        seen = set()
        while isinstance(node, ast.Name) and node.id in self.constants and node.id not in seen:
            seen.add(node.id)
            node = self.constants[node.id]
        return node

    def command(self, node: ast.AST | None) -> list[str] | None:
        """A list literal starting with "breadboard", as words; None when it is not one."""
        node = self.node(node)
        if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
            return None
        words = [self.value(e) for e in node.elts]
        if words[0] != "breadboard":
            return None
        return [w if isinstance(w, str) else UNKNOWN for w in words]


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return _dotted(node.value) + "." + node.attr
    return ""


def _kwargs(call: ast.Call) -> dict[str, ast.AST]:
    return {k.arg: k.value for k in call.keywords if k.arg is not None}


def _seconds(dag: Dag, node: ast.AST | None):
    node = dag.node(node)
    if not isinstance(node, ast.Call) or _dotted(node.func).split(".")[-1] != "timedelta":
        return None
    units = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1, "milliseconds": 0.001}
    names = ["days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"]
    total = 0.0
    for name, arg in list(zip(names, node.args)) + list(_kwargs(node).items()):
        v = dag.value(arg)
        if not isinstance(v, (int, float)):
            return None
        total += v * units.get(name, 0.000001)
    return total


def _date(dag: Dag, node: ast.AST | None):
    """(year, month, day, has a time zone) of datetime(...)/pendulum.datetime(...); None otherwise."""
    node = dag.node(node)
    if not isinstance(node, ast.Call) or _dotted(node.func).split(".")[-1] != "datetime":
        return None
    kw = _kwargs(node)
    parts = [dag.value(a) for a in node.args[:3]]
    parts += [dag.value(kw.get(k)) for k in ("year", "month", "day")[len(parts):]]
    has_tz = "tz" in kw or "tzinfo" in kw or len(node.args) > 7
    return (*parts, has_tz)


def _edges(dag: Dag, names: dict[str, str]) -> set[tuple[str, str]]:
    """The dependencies the `>>` / `<<` expressions and chain(...) calls declare, as (upstream, downstream) task ids."""
    edges: set[tuple[str, str]] = set()

    def ends(node: ast.AST) -> tuple[list[str], list[str]]:
        # A shift expression evaluates to its right operand: (a >> b) >> c puts c after b.
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.RShift, ast.LShift)):
            left_first, left_last = ends(node.left)
            right_first, right_last = ends(node.right)
            if isinstance(node.op, ast.RShift):
                edges.update((u, d) for u in left_last for d in right_first)
            else:
                edges.update((u, d) for u in right_first for d in left_last)
            return left_first, right_last
        if isinstance(node, (ast.List, ast.Tuple)):
            ids = [names.get(e.id, e.id) for e in node.elts if isinstance(e, ast.Name)]
            return ids, ids
        if isinstance(node, ast.Name):
            return [names.get(node.id, node.id)], [names.get(node.id, node.id)]
        return [], []

    for node in ast.walk(dag.tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.BinOp):
            ends(node.value)
        elif isinstance(node, ast.Call) and _dotted(node.func).split(".")[-1] == "chain":
            ids = [names.get(a.id, a.id) for a in node.args if isinstance(a, ast.Name)]
            edges.update(zip(ids, ids[1:]))
    return edges


def _tasks(dag: Dag) -> tuple[dict[str, str], dict[str, ast.Call]]:
    """Variable name → task id, and task id → the call that makes it, for `name = f("task_id", ...)` or `f(task_id=...)`."""
    names: dict[str, str] = {}
    calls: dict[str, ast.Call] = {}
    for node in ast.walk(dag.tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call):
            call = node.value
            task_id = _kwargs(call).get("task_id") or (call.args[0] if call.args else None)
            task_id = dag.value(task_id)
            if isinstance(task_id, str) and (task_id in TASKS or task_id == ALERT):
                names[node.targets[0].id] = task_id
                calls[task_id] = call
    return names, calls


def _task_command(dag: Dag, call: ast.Call) -> list[str] | None:
    for arg in list(call.args) + [k.value for k in call.keywords]:
        words = dag.command(arg)
        if words is not None:
            return words
        text = dag.value(arg)
        if isinstance(text, str) and text.startswith("breadboard "):
            return text.split()
    return None


def check(path: str) -> list[str]:
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        try:
            py_compile.compile(path, cfile=os.path.join(scratch, "dag.pyc"), doraise=True)
        except py_compile.PyCompileError as e:
            return [f"compile: {e.msg.strip().splitlines()[-1]}"]

    with open(path, encoding="utf-8") as f:
        dag = Dag(ast.parse(f.read(), path))

    dag_calls = [n for n in ast.walk(dag.tree) if isinstance(n, ast.Call) and _dotted(n.func).split(".")[-1] == "DAG"]
    if len(dag_calls) != 1:
        return [f"DAG: expected one DAG(...), found {len(dag_calls)}"]
    call = dag_calls[0]
    kw = _kwargs(call)

    def expect(what: str, found, wanted):
        if found != wanted:
            problems.append(f"{what}: expected {wanted!r}, found {found!r}")

    expect("dag_id", dag.value(kw.get("dag_id") or (call.args[0] if call.args else None)), DAG_ID)

    default_args_node = dag.node(kw.get("default_args"))
    default_args: dict[str, ast.AST] = {}
    if isinstance(default_args_node, ast.Dict):
        default_args = {dag.value(k): v for k, v in zip(default_args_node.keys, default_args_node.values) if k is not None}
    else:
        problems.append("default_args: expected a dict literal (or a module-level name for one)")
    expect("default_args.owner", dag.value(default_args.get("owner")), "breadboard")
    expect("default_args.retries", dag.value(default_args.get("retries")), 3)
    expect("default_args.retry_delay (seconds)", _seconds(dag, default_args.get("retry_delay")), 300.0)

    if "schedule_interval" in kw:
        problems.append("schedule_interval: deprecated since Airflow 2.4, use schedule=")
    schedule = dag.node(kw.get("schedule"))
    if isinstance(schedule, ast.Call) and _dotted(schedule.func).split(".")[-1] == "CronDataIntervalTimetable":
        expect("schedule", dag.value(schedule.args[0] if schedule.args else None), "0 */6 * * *")
        zone = _kwargs(schedule).get("timezone") or (schedule.args[1] if len(schedule.args) > 1 else None)
        expect("schedule time zone", dag.value(zone), "UTC")
    else:
        found = dag.value(schedule)
        problems.append(f"schedule: expected CronDataIntervalTimetable('0 */6 * * *', timezone='UTC'), found {found!r}"
                        + (": on Airflow 3 a cron string is a CronTriggerTimetable, whose data interval is empty"
                           if isinstance(found, str) else ""))
    start = _date(dag, kw.get("start_date"))
    if start is None:
        problems.append("start_date: expected datetime(...) or pendulum.datetime(...)")
    else:
        expect("start_date", tuple(start[:3]), (2025, 1, 1))
        if not start[3]:
            problems.append("start_date: no time zone (tz= or tzinfo=): a naive date follows Airflow's default_timezone setting")
    expect("catchup", dag.value(kw.get("catchup")), False)
    expect("max_active_runs", dag.value(kw.get("max_active_runs")), 1)

    names, calls = _tasks(dag)
    for task_id, verb in TASKS.items():
        if task_id not in calls:
            problems.append(f"task {task_id}: not found (expected `name = operator_or_factory('{task_id}', ...)`)")
            continue
        words = _task_command(dag, calls[task_id])
        if words is None:
            problems.append(f"task {task_id}: no `breadboard ...` command")
            continue
        if words[1:3] != ["batch", verb]:
            problems.append(f"task {task_id}: expected `breadboard batch {verb}`, found `{' '.join(words[:3])}`")
        if not any(words[i] == "--run-id" and RUN_ID_TEMPLATE.fullmatch(words[i + 1]) for i in range(len(words) - 1)):
            problems.append(f"task {task_id}: no `--run-id {{{{ run_id }}}}`")
        if verb == "fetch":
            for option in ("--symbols", "--from", "--to", "--interval", "--provider"):
                if option not in words:
                    problems.append(f"task {task_id}: no {option}")

    edges = _edges(dag, names)
    for up, down in CHAIN:
        if (up, down) not in edges:
            problems.append(f"dependencies: {up} >> {down} missing")
    for up, down in sorted(edges - set(CHAIN)):
        if up in TASKS and down in TASKS:
            problems.append(f"dependencies: unexpected {up} >> {down}")

    # The alert: a task after the three steps that runs when one of them has failed for good.
    if ALERT not in calls:
        problems.append(f"task {ALERT}: not found (the task that publishes alerts.batch_failed)")
    else:
        words = _task_command(dag, calls[ALERT])
        if words is None or words[1:3] != ["alerts", "publish"] or "batch_failed" not in words:
            problems.append(f"task {ALERT}: expected `breadboard alerts publish --rule batch_failed ...`")
        expect(f"task {ALERT}: trigger_rule", dag.value(_kwargs(calls[ALERT]).get("trigger_rule")), "one_failed")
        for step in TASKS:
            if (step, ALERT) not in edges:
                problems.append(f"dependencies: {step} >> {ALERT} missing")
    return problems


def commands(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        dag = Dag(ast.parse(f.read(), path))
    # A DAG's tags may well start with "breadboard" too; they are no command.
    tags = {id(k.value) for n in ast.walk(dag.tree) if isinstance(n, ast.Call) for k in n.keywords if k.arg == "tags"}
    found = []
    for node in ast.walk(dag.tree):
        if isinstance(node, (ast.List, ast.Tuple)) and id(node) not in tags:
            words = dag.command(node)
            if words is not None:
                found.append(" ".join(words))
    return found


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 1 or any(a != "--print-commands" for a in argv if a.startswith("--")):
        print("usage: check_dag.py DAG_FILE [--print-commands]", file=sys.stderr)
        return 2
    if not os.path.isfile(args[0]):
        print(f"{args[0]}: no such file", file=sys.stderr)
        return 2
    if "--print-commands" in argv:
        for line in commands(args[0]):
            print(line)
        return 0
    problems = check(args[0])
    for p in problems:
        print(p)
    if problems:
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
