"""The job's web page in a real browser: Debian's chromium, headless, driven
through chromedriver's WebDriver protocol (plain HTTP + JSON, so stdlib only).
Against counting_job on loopback it checks that the page loads, draws the job
graph with the operators /api/job lists, that the throughput figure
changes over time, the tables of operators (with their watermarks) and of
instances, the charts' time axes, and the config and errors sections; it saves a
screenshot as WORKDIR/metrics_page.png.
Exits 77 (ctest's skip) with a message when chromium or chromedriver is absent.

    python3 browser_test.py COUNTING_JOB WORKDIR
"""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from running_job import RunningJob  # noqa: E402

SKIP = 77


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriver:
    def __init__(self, driver_bin, browser_bin, log_path):
        self.port = free_port()
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([driver_bin, f"--port={self.port}"], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while True:
            try:
                self.call("GET", "/status")
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise AssertionError("chromedriver did not start; see " + log_path)
                time.sleep(0.1)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": browser_bin, "args": args}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as e:
            raise AssertionError(f"WebDriver {method} {path}: {e.read().decode()}") from None

    def go(self, url):
        self.call("POST", f"/session/{self.session}/url", {"url": url})

    def js(self, script):
        return self.call("POST", f"/session/{self.session}/execute/sync",
                         {"script": script, "args": []})

    def screenshot(self, path):
        png = base64.b64decode(self.call("GET", f"/session/{self.session}/screenshot"))
        with open(path, "wb") as f:
            f.write(png)

    def close(self):
        try:
            self.call("DELETE", f"/session/{self.session}")
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.log.close()


def wait_for(what, fn, timeout=30):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def check_tables(wd, api):
    """The operators table lists /api/job's operators with a watermark each; the
    instances table has a row per task instance."""
    expected = sorted(op["name"] for t in api["tasks"] for op in t["operators"])
    rows = wait_for("the operators table", lambda: wd.js(
        "return Array.from(document.querySelectorAll('#operators tbody tr'))"
        ".map(r => [r.dataset.name, (r.querySelector('td.wm') || {}).textContent])"))
    names = sorted(r[0] for r in rows)
    assert names == expected, f"the operators table lists {names}, /api/job lists {expected}"
    head = wd.js("return Array.from(document.querySelectorAll('#operators thead th'))"
                 ".map(h => h.textContent)")
    assert "watermark" in head, f"the operators table has no watermark column: {head}"
    no_wm = [(name, wm) for name, wm in rows
             if not wm or not re.search(r"\d\d:\d\d:\d\d|none yet", wm)]
    assert not no_wm, f"operators whose watermark is neither a time nor 'none yet': {no_wm}"

    expected = sorted([t["id"], i["instance"]] for t in api["tasks"] for i in t["instances"])
    rows = wait_for("the instances table", lambda: wd.js(
        "return Array.from(document.querySelectorAll('#instances tbody tr'))"
        ".map(r => [Number(r.dataset.task), Number(r.dataset.instance)])"))
    assert sorted(rows) == expected, \
        f"the instances table has rows (task, instance) {sorted(rows)}, /api/job has {expected}"


def check_axes(wd):
    """Each chart labels its time axis (HH:MM:SS) and its value axis."""
    for chart in ("chart-throughput", "chart-lag"):
        times = wd.js(f"return Array.from(document.querySelectorAll('#{chart} .tick-time'))"
                      ".map(t => t.textContent)")
        assert times, f"#{chart} has no time-axis labels"
        bad = [t for t in times if not re.fullmatch(r"\d\d:\d\d:\d\d", t)]
        assert not bad, f"#{chart} time-axis labels not HH:MM:SS: {bad}"
        values = wd.js(f"return document.querySelectorAll('#{chart} .tick-value').length")
        assert values >= 2, f"#{chart} has {values} value-axis labels"


def check_config_and_errors(wd, api):
    """The job's settings (it runs with --parallelism 2) and its warnings and errors,
    which may be none: both fields of /api/job, both shown."""
    assert isinstance(api.get("config"), dict), \
        f"/api/job has no 'config' object; its keys: {sorted(api)}"
    assert isinstance(api.get("errors"), list), \
        f"/api/job has no 'errors' array; its keys: {sorted(api)}"
    assert not wd.js("return document.getElementById('config-section').hidden"), \
        "the config section is hidden although /api/job has 'config'"
    config = dict(wait_for("the config table", lambda: wd.js(
        "return Array.from(document.querySelectorAll('#config tbody tr'))"
        ".map(r => Array.from(r.cells).map(c => c.textContent))")))
    assert config.get("--parallelism") == "2", \
        f"the config table does not show --parallelism 2: {config}"
    shown = wd.js("const s = document.getElementById('errors-section');"
                  "return s && !s.hidden && !!document.querySelector('#errors tbody')")
    assert shown, "the errors section (#errors-section with table #errors) is missing or hidden"


def main(job_bin, workdir):
    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        print("browser_test: SKIPPED: Debian's chromium and chromium-driver are not installed "
              "(scripts/test.sh installs them; they could not be installed here)")
        return SKIP
    os.makedirs(workdir, exist_ok=True)
    # The browser first (its start is the slow part on a loaded machine), then
    # a job of about 60 s of events, stopped (SIGTERM) once the checks are done.
    wd = WebDriver(driver, browser, os.path.join(workdir, "chromedriver.log"))
    job = None
    try:
        job = RunningJob(job_bin, os.path.join(workdir, "job"), 1_800_000, 30_000)
        wd.go(job.base + "/")
        title = wd.js("return document.title")
        assert title == "runnel job", f"page title {title!r}"
        drawn = wait_for("the job graph", lambda: wd.js(
            "return Array.from(document.querySelectorAll('#graph .operator'))"
            ".map(e => e.dataset.name)"))
        _, body = job.get("/api/job")
        api = json.loads(body)
        expected = [op["name"] for t in api["tasks"] for op in t["operators"]]
        assert sorted(drawn) == sorted(expected), f"graph shows {drawn}, the job has {expected}"
        assert "generator" in drawn and any(n.startswith("par_do (stateful)") for n in drawn), drawn
        tasks = wd.js("return document.querySelectorAll('#graph .task').length")
        assert tasks == len(api["tasks"]), f"{tasks} task boxes for {len(api['tasks'])} tasks"
        edges = wd.js("return document.querySelectorAll('#graph .edge').length")
        assert edges == len(api["edges"]), f"{edges} arrows for {len(api['edges'])} exchanges"

        def throughput():
            t = wd.js("return document.getElementById('throughput').textContent")
            return t if t and t != "–" else None
        first = wait_for("a throughput figure", throughput)
        readings = [first]
        deadline = time.time() + 10
        while time.time() < deadline and len(set(readings)) < 2:
            time.sleep(1.0)
            readings.append(throughput())
        assert len(set(readings)) >= 2, f"throughput did not change: {readings}"
        rate = float(readings[-1].replace(",", ""))
        assert rate > 0, f"throughput {readings[-1]}"
        records_in = wd.js("return document.getElementById('records-in').textContent")
        assert records_in not in ("", "–"), "records in not shown"
        chart = wait_for("the throughput chart", lambda: wd.js(
            "return document.querySelectorAll('#chart-throughput polyline').length"))
        check_tables(wd, api)
        check_axes(wd)
        check_config_and_errors(wd, api)
        shot = os.path.join(workdir, "metrics_page.png")
        wd.screenshot(shot)
        assert os.path.getsize(shot) > 10_000, "the screenshot is nearly empty"
        print(f"browser_test: page loaded; graph of {len(drawn)} operators in {tasks} tasks, "
              f"{edges} exchanges; throughput readings {readings}; chart lines {chart}; "
              f"screenshot {shot}")
    finally:
        wd.close()
        if job:
            job.stop()
    print("browser_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
