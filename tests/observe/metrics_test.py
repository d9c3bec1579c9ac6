"""Scrapes /metrics and /api/job while counting_job runs: every line of the
exposition parses, each family is declared once before its samples, counters
never go back, and the final figures (served after the end by
--metrics-linger) equal what the job reports and what its sinks wrote. The
job logs JSON lines (--log-format json) with status lines among them.

    python3 metrics_test.py COUNTING_JOB WORKDIR
"""
import glob
import json
import math
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from running_job import RunningJob  # noqa: E402

EVENTS = 120_000
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?,?\}})? (\S+)(?: -?\d+)?$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def parse(text):
    """Validates the text format; returns {(name, frozenset(labels)): value}."""
    declared, helped, samples = {}, set(), {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            check(name not in helped, f"line {n}: HELP for {name} twice")
            helped.add(name)
        elif line.startswith("# TYPE "):
            parts = line.split(" ")
            check(len(parts) == 4 and parts[3] in TYPES, f"line {n}: bad TYPE line {line!r}")
            check(parts[2] not in declared, f"line {n}: TYPE for {parts[2]} twice")
            declared[parts[2]] = parts[3]
        elif line.startswith("#"):
            continue
        else:
            m = SAMPLE.match(line)
            check(m is not None, f"line {n}: does not parse: {line!r}")
            if not m:
                continue
            name, labels, value = m.group(1), m.group(2) or "", m.group(3)
            check(name in declared, f"line {n}: {name} has no TYPE before it")
            try:
                v = float(value)
            except ValueError:
                check(False, f"line {n}: value {value!r} is not a number")
                continue
            check(not math.isnan(v), f"line {n}: NaN")
            if declared.get(name) == "counter":
                check(name.endswith("_total"), f"line {n}: counter {name} lacks _total")
                check(v >= 0, f"line {n}: negative counter")
            key = (name, frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels)))
            check(key not in samples, f"line {n}: sample {name}{{{labels}}} twice")
            samples[key] = v
    return declared, samples


def total(samples, name, **want):
    return sum(v for (n, labels), v in samples.items()
               if n == name and all((k, w) in labels for k, w in want.items()))


def main(job_bin, workdir):
    job = RunningJob(job_bin, workdir, EVENTS, 30_000, extra=("--metrics-linger", "5s", "--log-format", "json",
                                                            "--status-interval", "500ms"))
    try:
        previous = {}
        scrapes = 0
        seen_running = False
        final = None
        while job.proc.poll() is None:
            ctype, text = job.get("/metrics")
            check(ctype.startswith("text/plain; version=0.0.4"), f"content type {ctype!r}")
            declared, samples = parse(text)
            scrapes += 1
            # Counters only go up between scrapes.
            for key, v in samples.items():
                if declared.get(key[0]) == "counter" and key in previous:
                    check(v >= previous[key], f"{key[0]} went back: {previous[key]} -> {v}")
            previous = samples
            records_in = total(samples, "runnel_job_records_in_total")
            sources = total(samples, "runnel_operator_records_out_total", kind="source")
            check(records_in == sources,
                  f"job records in {records_in} != the sources' records out {sources}")
            check(records_in <= EVENTS, f"records in {records_in} > {EVENTS} events")
            if total(samples, "runnel_job_state", state="finished") == 1:
                final = samples  # served by --metrics-linger after the end
                _, body = job.get("/api/job")
                break
            if 0 < records_in < EVENTS:
                seen_running = True
                state = total(samples, "runnel_job_state", state="running")
                check(state == 1, "the job is not 'running' while it reads")
            time.sleep(0.3)
        check(seen_running, f"no scrape while the job ran ({scrapes} scrapes)")
        check(final is not None, "never saw the job finished:\n" + job.text())
        check(job.wait() == 0, "the job failed:\n" + job.text())
        summary = re.search(r"done \(streaming mode\): (\d+) records in, (\d+) out, (\d+) checkpoints",
                            job.text())
        check(summary is not None, "no summary line:\n" + job.text())
        samples = final
        n_in, n_out, n_ck = (int(x) for x in summary.groups())
        check(n_in == EVENTS, f"the job read {n_in}, not {EVENTS}")
        check(total(samples, "runnel_job_records_in_total") == n_in, "final records in")
        check(total(samples, "runnel_job_records_out_total") == n_out, "final records out")
        check(total(samples, "runnel_operator_records_in_total", kind="sink") == n_out,
              "the sinks' records in != the job's records out")
        check(total(samples, "runnel_checkpoints_completed_total") == n_ck, "checkpoint count")
        check(("runnel_checkpoints_failed_total", frozenset()) in samples
              and total(samples, "runnel_checkpoints_failed_total") == 0, "failed checkpoints")
        check(total(samples, "runnel_checkpoint_last_size_bytes") > 0, "last checkpoint size")
        # What the sinks wrote: one line per record they took.
        for sink in ("windows", "totals", "running"):
            lines = sum(1 for f in glob.glob(os.path.join(job.output, sink, "part-*"))
                        for _ in open(f))
            taken = sum(v for (n, labels), v in samples.items()
                        if n == "runnel_operator_records_in_total" and ("kind", "sink") in labels
                        and any(k == "operator" and v2.endswith(f"/{sink}'") for k, v2 in labels))
            check(lines == taken, f"{sink}: {lines} lines written, the metrics say {taken}")
            check(lines > 0, f"{sink}: nothing written")
        # --log-format json: every line an object; status lines among them.
        logged = [json.loads(line) for line in job.text().splitlines() if line.strip()]
        check(all({"time", "level", "message"} <= set(o) for o in logged), "log line fields")
        check(any(o["message"].startswith("status: ") for o in logged), "no status line logged")
        api = json.loads(body)
        check(api["records_in"] == n_in and api["records_out"] == n_out, "/api/job totals")
        check(api["state"] == "finished", "/api/job state")
        names = [op["name"] for t in api["tasks"] for op in t["operators"]]
        check("generator" in names, f"/api/job operators: {names}")
        check(any(n.startswith("par_do (stateful)") for n in names), f"/api/job operators: {names}")
        check(len(api["edges"]) >= 3, "/api/job edges")
        check(api["checkpoints"]["completed"] == n_ck, "/api/job checkpoints")
        check(api["checkpoints"]["failed"] == 0, "/api/job failed checkpoints")
        print(f"metrics_test: {scrapes} scrapes while running; final: {n_in} in, {n_out} out, "
              f"{n_ck} checkpoints")
    finally:
        job.stop()
    if failures:
        print(f"metrics_test: {len(failures)} failed checks", file=sys.stderr)
        return 1
    print("metrics_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
