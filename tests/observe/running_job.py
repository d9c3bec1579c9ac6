"""A job under test: counting_job (tests/fault/counting_job.cpp) started with
a metrics server on a free port, which it logs; stdlib only."""
import os
import re
import signal
import subprocess
import time
import urllib.request


class RunningJob:
    def __init__(self, job, workdir, events, rate, extra=()):
        os.makedirs(workdir, exist_ok=True)
        self.log_path = os.path.join(workdir, "job.log")
        self.output = os.path.join(workdir, "out")
        env = dict(os.environ, RUNNEL_FAULT_EVENTS=str(events), RUNNEL_FAULT_RATE=str(rate))
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [job, "--output", self.output, "--overwrite", "--mode", "streaming",
             "--parallelism", "2", "--checkpoint-dir", os.path.join(workdir, "ck"),
             "--checkpoint-interval", "300ms", "--metrics-port", "0", "--no-progress", *extra],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.port = self._wait_for_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def _wait_for_port(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            m = re.search(r"http://127\.0\.0\.1:(\d+)/", self.text())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise AssertionError("the job ended before serving metrics:\n" + self.text())
            time.sleep(0.05)
        raise AssertionError("the job logged no metrics address in 30 s:\n" + self.text())

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return r.headers.get("Content-Type", ""), r.read().decode("utf-8")

    def wait(self, timeout=120):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
