"""Training on a parameter-server / worker cluster, processes on 127.0.0.1.

Each test starts real `train_image_classifier.py` processes (1-2 ps tasks,
2 workers) on the tiny shapes data and checks what a user would: exit
statuses, the steps each worker logged, the final checkpoint's step, and
recovery from killed tasks. CifarNet at batch 8 keeps each run to seconds.
"""
import os
import re
import signal
import subprocess
import time

import numpy as np
import pytest

from tests import cli_harness as h
from tests.deployment import cluster_harness as ch

train_image_classifier = h.script_module('train_image_classifier')

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'))


def _train_args(data, train_dir, **overrides):
  values = dict(h.FAST_TRAIN, dataset_dir=str(data), train_dir=str(train_dir),
                log_every_n_steps=5, cluster_startup_timeout_secs=120)
  values.update(overrides)
  return h.cli_args(values)


@pytest.fixture
def make_cluster(tmp_path):
  clusters = []

  def make(train_args, **kwargs):
    cluster = ch.LocalCluster(tmp_path, train_args, **kwargs)
    clusters.append(cluster)
    return cluster

  yield make
  for cluster in clusters:
    cluster.close()


def _all_exit_zero(cluster):
  statuses = cluster.wait_all()
  assert set(statuses.values()) == {0}, (
      statuses, {n: cluster.log(n)[-3000:] for n in statuses})


def test_async_workers_finish_after_a_killed_worker_restarts(
    data, tmp_path, make_cluster):
  # Enough steps that the chief is still training when worker 1 is back.
  cluster = make_cluster(_train_args(data, tmp_path / 'train',
                                     max_number_of_steps=400))
  cluster.start_all()
  cluster.wait_for_log('worker1', r'global step \d+: loss')
  cluster.kill('worker1')
  cluster.start('worker', 1)
  _all_exit_zero(cluster)
  # Both trained, worker 1 again after its restart, and the parameter
  # server counted both finished.
  assert ch.steps_logged(cluster.log('worker0')), cluster.log('worker0')
  assert ch.steps_logged(cluster.log('worker1')), cluster.log('worker1')
  assert 'Worker replica(s) finished: [0, 1] of 2' in cluster.log('ps0')
  # The workers raced for the last steps; the atomic step claim stops the
  # global step at exactly the limit.
  assert h.checkpoint_step(tmp_path / 'train') == 400
  # Only the chief writes checkpoints.
  assert 'Saved checkpoint' in cluster.log('worker0')
  assert 'Saved checkpoint' not in cluster.log('worker1', run=0)
  assert 'Saved checkpoint' not in cluster.log('worker1')


def test_killed_chief_resumes_from_its_checkpoint(data, tmp_path,
                                                  make_cluster):
  train_dir = tmp_path / 'train'
  cluster = make_cluster(_train_args(data, train_dir, max_number_of_steps=150,
                                     save_interval_secs=1))
  cluster.start_all()
  saved = cluster.wait_for_log('worker0', r'Saved checkpoint .*ckpt-(\d+)')
  cluster.kill('worker0')
  cluster.start('worker', 0)
  resumed = cluster.wait_for_log('worker0', r'Resuming from .*ckpt-(\d+)')
  assert int(resumed.group(1)) >= int(saved.group(1))
  _all_exit_zero(cluster)
  assert h.checkpoint_step(train_dir) == 150


def test_lost_parameter_server_ends_workers_with_one_line(data, tmp_path,
                                                          make_cluster):
  cluster = make_cluster(_train_args(data, tmp_path / 'train',
                                     max_number_of_steps=100000))
  cluster.start_all()
  cluster.wait_for_log('worker1', r'global step \d+: loss')
  cluster.kill('ps0')
  for worker in ('worker0', 'worker1'):
    assert cluster.wait(worker, timeout=120) == 2, cluster.log(worker)
    log = cluster.log(worker)
    errors = [line for line in log.splitlines()
              if 'train_image_classifier.py: error:' in line]
    assert len(errors) == 1, log
    assert f'Lost contact with ps task 0 at {cluster.ps_hosts[0]}' in (
        errors[0]), log
    assert 'Traceback' not in log, log


def test_tf_config_cluster_spreads_variables_over_two_ps(data, tmp_path,
                                                        make_cluster):
  train_dir = tmp_path / 'train'
  # Two clones per worker, too.
  cluster = make_cluster(_train_args(data, train_dir, max_number_of_steps=10,
                                     num_clones=2, clone_on_cpu=True),
                         num_ps=2, use_tf_config=True)
  cluster.start_all()
  _all_exit_zero(cluster)
  assert h.checkpoint_step(train_dir) == 10
  for ps in ('ps0', 'ps1'):
    assert 'Every worker finished' in cluster.log(ps)
  # The chief's graph.pbtxt records where each variable lives.
  text = (train_dir / 'graph.pbtxt').read_text()
  placed = dict(re.findall(
      r'name: "(CifarNet/[\w/]+/(?:weights|biases))"\s+op: "VarHandleOp"\s+'
      r'device: "/job:ps/task:(\d)', text))
  assert len(placed) == 10 and set(placed.values()) == {'0', '1'}, placed
  # Worker ops run on the worker's own task, not on task 0 (#434).
  assert '/job:worker/task:0' in text
  assert 'clone_1/CifarNet' in text


def test_worker_gives_up_on_an_unreachable_ps_naming_it(data, tmp_path,
                                                        make_cluster):
  cluster = make_cluster(_train_args(data, tmp_path / 'train',
                                     cluster_startup_timeout_secs=2),
                         num_workers=1)
  cluster.start('worker', 0)  # and no parameter server
  assert cluster.wait('worker0', timeout=120) == 2
  log = cluster.log('worker0')
  assert f'Waiting for ps task 0 at {cluster.ps_hosts[0]}' in log
  assert (f'train_image_classifier.py: error: ps task 0 at '
          f'{cluster.ps_hosts[0]} did not answer within 2 s') in log, log
  assert 'Traceback' not in log


def test_parameter_server_stops_cleanly_on_sigterm(tmp_path, make_cluster):
  cluster = make_cluster([])
  cluster.start('ps', 0)
  cluster.wait_for_log('ps0', 'serving until 2 worker')
  cluster.kill('ps0', signal.SIGTERM)
  assert cluster.processes['ps0'].returncode == 128 + signal.SIGTERM
  assert 'Traceback' not in cluster.log('ps0')


def test_sync_replicas_fine_tune_to_exactly_the_limit(data, tmp_path,
                                                      make_cluster):
  """Sync mode: the global step advances once per 2 aggregated gradients
  and stops at exactly the limit; fine-tuning works in it
  (tensorflow/models#1296): the chief restores the checkpoint, and only the
  trainable scope moves."""
  source = tmp_path / 'source'
  train_image_classifier.train(h.train_values(data, source,
                                              max_number_of_steps=3))
  train_dir = tmp_path / 'train'
  cluster = make_cluster(_train_args(
      data, train_dir, max_number_of_steps=30, sync_replicas=True,
      replicas_to_aggregate=2, log_every_n_steps=1,
      checkpoint_path=str(source),
      checkpoint_exclude_scopes='CifarNet/logits',
      trainable_scopes='CifarNet/logits'))
  cluster.start_all()
  _all_exit_zero(cluster)
  assert h.checkpoint_step(train_dir) == 30
  # Every update waits for 2 gradients: the workers ran in lock step (one
  # may run a step ahead on the initial tokens), so each ran at least half
  # of the 60 gradient computations, and both were there for the last step.
  for worker in ('worker0', 'worker1'):
    steps = ch.steps_logged(cluster.log(worker))
    assert len(steps) >= 15 and max(steps) == 30, cluster.log(worker)
  assert 'Fine-tuning from' in cluster.log('worker0')
  before, after = h.read_checkpoint(source), h.read_checkpoint(train_dir)
  np.testing.assert_array_equal(after['CifarNet/conv1/weights'],
                                before['CifarNet/conv1/weights'])
  assert not np.array_equal(after['CifarNet/logits/weights'],
                            before['CifarNet/logits/weights'])


def test_local_cluster_script_trains_evaluates_and_cleans_up(tmp_path):
  work = tmp_path / 'work'
  result = subprocess.run(
      ['bash', h.script_path('scripts/train_local_cluster.sh'), str(work)],
      cwd=h.ROOT, env=dict(os.environ, PYTHON=h.PYTHON, STEPS='40'),
      capture_output=True, text=True, timeout=400)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  accuracy = re.search(r'^Accuracy: (\d\.\d+)$', result.stdout, re.M)
  assert accuracy, result.stdout[-3000:]
  assert h.checkpoint_step(work / 'train') == 40
  for name in ('ps0', 'worker0', 'worker1'):
    assert (work / 'logs' / f'{name}.log').exists()
  # Nothing it started is left running: no process names its ps port.
  port = re.search(r'ps on :(\d+)', result.stdout).group(1)
  leftover = subprocess.run(['pgrep', '-f', f'localhost:{port}'],
                            capture_output=True, text=True)
  assert not leftover.stdout.strip(), leftover.stdout


def test_local_cluster_script_stops_everything_when_a_worker_dies(tmp_path):
  """A worker killed mid-run: the script names it, exits with its status
  and stops the ps and the other worker (which would wait for it forever)
  instead of hanging."""
  work = tmp_path / 'work'
  script = subprocess.Popen(
      ['bash', h.script_path('scripts/train_local_cluster.sh'), str(work)],
      cwd=h.ROOT, env=dict(os.environ, PYTHON=h.PYTHON, STEPS='100000',
                           MODE='sync'),
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  try:
    lines = []
    for line in script.stdout:
      lines.append(line)
      if line.startswith('== 2/3'):
        break
    port = re.search(r'ps on :(\d+)', line).group(1)
    worker1 = None
    deadline = time.time() + 60
    while worker1 is None and time.time() < deadline:
      found = subprocess.run(
          ['pgrep', '-f', f'localhost:{port}.*--job_name=worker --task=1'],
          capture_output=True, text=True).stdout.split()
      worker1 = int(found[0]) if found else None
      time.sleep(0.5)
    assert worker1, ''.join(lines)
    time.sleep(3)  # let it get going
    os.kill(worker1, signal.SIGKILL)
    rest, _ = script.communicate(timeout=60)
  finally:
    if script.poll() is None:
      script.kill()
  output = ''.join(lines) + rest
  assert script.returncode == 128 + signal.SIGKILL, output
  assert 'worker1 failed with status 137; stopping the others.' in output
  leftover = subprocess.run(['pgrep', '-f', f'localhost:{port}'],
                            capture_output=True, text=True)
  assert not leftover.stdout.strip(), leftover.stdout


def test_sync_worker_says_which_task_it_waits_for(data, tmp_path,
                                                  make_cluster):
  """A sync-replicas chief that died: the other worker's steps wait for a
  token from it forever (the ps it watches is still up); every
  --sync_wait_log_secs it logs whom it waits for."""
  cluster = make_cluster(_train_args(
      data, tmp_path / 'train', max_number_of_steps=100000,
      sync_replicas=True, replicas_to_aggregate=2, log_every_n_steps=1,
      sync_wait_log_secs=2))
  cluster.start_all()
  # Any step: a worker that starts after the chief ran ahead logs its first
  # step at the global step it joins (7, say), never step 3.
  cluster.wait_for_log('worker1', r'global step \d+: loss')
  cluster.kill('worker0')
  chief = cluster.worker_hosts[0]
  # worker1 first uses up the tokens the chief queued while it ran ahead
  # (the chief alone can fill the updates; each hands out a token per
  # replica), so its steps stop only after that backlog: on a loaded
  # machine that took over a minute.
  cluster.wait_for_log(
      'worker1', r'No step finished for \d+ s after global step \d+: a '
      r'synchronous step waits for the gradients of other replicas \(not '
      rf'answering: worker task 0 at {re.escape(chief)}; restart it with '
      r'the same command\)\.', timeout=300)
