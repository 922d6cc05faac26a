"""Local clusters for the tests: one process per task on 127.0.0.1.

Each task is `train_image_classifier.py` started the way a user would start
it on a machine of the cluster; the harness picks free ports, keeps every
process's output in a file, and kills what is left when the test ends.
"""
import json
import os
import re
import signal
import socket
import subprocess
import time

from tests import cli_harness as h

SCRIPT = 'train_image_classifier.py'


def free_ports(count):
  """`count` distinct ports free on 127.0.0.1 right now."""
  sockets = []
  try:
    for _ in range(count):
      s = socket.socket()
      s.bind(('127.0.0.1', 0))
      sockets.append(s)
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


class LocalCluster:
  """`num_ps` parameter servers and `num_workers` workers on loopback.

  Args:
    tmp_path: where logs go.
    train_args: flag list every worker gets (dataset, model, train_dir...).
    use_tf_config: describe the cluster in TF_CONFIG instead of flags.
  """

  def __init__(self, tmp_path, train_args, num_ps=1, num_workers=2,
               use_tf_config=False):
    ports = free_ports(num_ps + num_workers)
    self.ps_hosts = [f'localhost:{p}' for p in ports[:num_ps]]
    self.worker_hosts = [f'localhost:{p}' for p in ports[num_ps:]]
    self.tmp_path = tmp_path
    self.train_args = list(train_args)
    self.use_tf_config = use_tf_config
    self.processes = {}
    self.logs = {}

  def _command(self, job, task):
    if self.use_tf_config:
      return []
    return [f'--ps_hosts={",".join(self.ps_hosts)}',
            f'--worker_hosts={",".join(self.worker_hosts)}',
            f'--job_name={job}', f'--task={task}']

  def _env(self, job, task):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONUNBUFFERED='1')
    env.pop('TF_CONFIG', None)
    if self.use_tf_config:
      env['TF_CONFIG'] = json.dumps({
          'cluster': {'ps': self.ps_hosts, 'worker': self.worker_hosts},
          'task': {'type': job, 'index': task}})
    return env

  def start(self, job, task, extra=()):
    """Starts (or restarts) task `task` of `job`; returns its Popen."""
    name = f'{job}{task}'
    args = self._command(job, task)
    if job == 'worker':
      args += self.train_args
    args += list(extra)
    count = sum(1 for n in self.logs if n.startswith(name + '.'))
    path = self.tmp_path / f'{name}.{count}.log'
    self.logs[f'{name}.{count}'] = path
    with open(path, 'w') as out:
      process = subprocess.Popen(
          [h.PYTHON, h.script_path(SCRIPT)] + args, cwd=h.ROOT,
          env=self._env(job, task), stdout=out, stderr=subprocess.STDOUT)
    self.processes[name] = process
    return process

  def start_all(self, extra=()):
    for task in range(len(self.ps_hosts)):
      self.start('ps', task)
    for task in range(len(self.worker_hosts)):
      self.start('worker', task, extra)

  def log(self, name, run=None):
    """The output of task `name` ('worker1'), of its last run by default."""
    runs = sorted(k for k in self.logs if k.startswith(name + '.'))
    key = runs[-1] if run is None else f'{name}.{run}'
    return self.logs[key].read_text()

  def wait_for_log(self, name, pattern, timeout=120):
    """Waits until task `name`'s current output matches `pattern`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
      match = re.search(pattern, self.log(name))
      if match:
        return match
      if self.processes[name].poll() is not None:
        break
      time.sleep(0.2)
    raise AssertionError(f'{name}: no {pattern!r} in:\n{self.log(name)}')

  def kill(self, name, sig=signal.SIGKILL):
    process = self.processes[name]
    process.send_signal(sig)
    process.wait(timeout=30)

  def wait(self, name, timeout=180):
    """The exit status of task `name`."""
    return self.processes[name].wait(timeout=timeout)

  def wait_all(self, timeout=240):
    """{name: exit status} once every process has ended."""
    deadline = time.time() + timeout
    return {name: p.wait(timeout=max(1, deadline - time.time()))
            for name, p in self.processes.items()}

  def close(self):
    for process in self.processes.values():
      if process.poll() is None:
        process.kill()
        process.wait()


def steps_logged(log):
  """The global steps a worker logged ('global step N: loss = ...')."""
  return [int(n) for n in re.findall(r'global step (\d+): loss', log)]
