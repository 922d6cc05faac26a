"""Training on all-reduce workers (no parameter server), processes on
127.0.0.1.

Each test starts real `train_image_classifier.py` processes (2 workers,
the cluster in flags or in TF_CONFIG) on the tiny shapes data and checks
what a user would: exit statuses, the final checkpoint's step, the
variables checksum each worker logs at the end (equal lines: bit-identical
variables), the one line naming a killed worker, the resume from the
chief's checkpoint. CifarNet at batch 8 keeps each run to seconds.
"""
import os
import re
import subprocess

import pytest

from deployment import all_reduce
from tests import cli_harness as h
from tests.deployment import cluster_harness as ch

train_image_classifier = h.script_module('train_image_classifier')
eval_image_classifier = h.script_module('eval_image_classifier')

pytestmark = pytest.mark.slow

_CHECKSUM = re.compile(re.escape(all_reduce.CHECKSUM_LINE).replace(
    '%d', r'(\d+)').replace('%s', '([0-9a-f]{64})'))


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
    cluster = ch.LocalCluster(tmp_path, train_args, num_ps=0, **kwargs)
    clusters.append(cluster)
    return cluster

  yield make
  for cluster in clusters:
    cluster.close()


def _all_exit_zero(cluster):
  statuses = cluster.wait_all()
  assert set(statuses.values()) == {0}, (
      statuses, {n: cluster.log(n)[-3000:] for n in statuses})


def _checksums(cluster):
  """{worker: (global step, checksum)} of the workers' last runs."""
  found = {}
  for name in ('worker0', 'worker1'):
    match = _CHECKSUM.search(cluster.log(name))
    assert match, cluster.log(name)[-3000:]
    found[name] = (int(match.group(1)), match.group(2))
  return found


def test_two_workers_train_alike_to_exactly_the_limit(data, tmp_path,
                                                      make_cluster):
  train_dir = tmp_path / 'train'
  cluster = make_cluster(_train_args(data, train_dir, max_number_of_steps=20,
                                     num_clones=2, clone_on_cpu=True),
                         use_tf_config=True)
  cluster.start_all()
  _all_exit_zero(cluster)
  assert h.checkpoint_step(train_dir) == 20
  # Bit-identical variables on both, at the limit: the chief's random
  # start was broadcast, and every update was the same.
  sums = _checksums(cluster)
  assert sums['worker0'] == sums['worker1'] and sums['worker0'][0] == 20
  # Both trained every step, in lock step; only the chief saved.
  for worker in ('worker0', 'worker1'):
    assert ch.steps_logged(cluster.log(worker)) == [5, 10, 15, 20]
  assert 'Saved checkpoint' in cluster.log('worker0')
  assert 'Saved checkpoint' not in cluster.log('worker1')


def test_a_killed_worker_ends_the_other_then_both_resume(data, tmp_path,
                                                         make_cluster):
  train_dir = tmp_path / 'train'
  cluster = make_cluster(_train_args(
      data, train_dir, max_number_of_steps=80, save_interval_secs=1,
      all_reduce_timeout_secs=10))
  cluster.start_all()
  cluster.wait_for_log('worker0', r'Saved checkpoint .*ckpt-[1-9]\d*')
  cluster.kill('worker1')
  # The chief's next step waits at most the timeout, then names it.
  assert cluster.wait('worker0', timeout=10 + 20) == 2, cluster.log('worker0')
  log = cluster.log('worker0')
  errors = [line for line in log.splitlines()
            if 'train_image_classifier.py: error:' in line]
  assert errors == [
      'train_image_classifier.py: error: Lost contact with worker task 1 at '
      f'{cluster.worker_hosts[1]}, so training stopped. Restart it (or the '
      'whole cluster) with the same commands: training resumes from the '
      'last checkpoint in --train_dir.'], log
  assert 'Traceback' not in log
  saved = h.checkpoint_step(train_dir)
  assert 0 < saved < 80
  # The same commands again: both resume from the chief's checkpoint.
  cluster.start_all()
  resumed = cluster.wait_for_log('worker0', r'Resuming from .*ckpt-(\d+)')
  assert int(resumed.group(1)) == saved
  _all_exit_zero(cluster)
  assert h.checkpoint_step(train_dir) == 80
  sums = _checksums(cluster)
  assert sums['worker0'] == sums['worker1'] and sums['worker0'][0] == 80
  # Worker 1 started its second run at the chief's step, not at 0.
  steps = ch.steps_logged(cluster.log('worker1'))
  assert steps[0] > saved and steps[-1] == 80, steps


@pytest.mark.heavy
def test_local_cluster_script_trains_with_all_reduce(tmp_path):
  work = tmp_path / 'work'
  result = subprocess.run(
      ['bash', h.script_path('scripts/train_local_cluster.sh'), str(work)],
      cwd=h.ROOT, env=dict(os.environ, PYTHON=h.PYTHON, STEPS='40',
                           MODE='allreduce'),
      capture_output=True, text=True, timeout=400)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  assert re.search(r'^Accuracy: (\d\.\d+)$', result.stdout, re.M), (
      result.stdout[-3000:])
  assert h.checkpoint_step(work / 'train') == 40
  sums = _CHECKSUM.findall(result.stdout)
  assert len(sums) == 2 and sums[0] == sums[1], result.stdout
  assert sums[0][0] == '40'
  assert not (work / 'logs' / 'ps0.log').exists()


@pytest.mark.heavy
def test_all_reduce_reaches_the_accuracy_of_one_process(tmp_path,
                                                        make_cluster):
  """CifarNet on shapes, 300 steps of a global batch of 32: one process
  (batch 32) and two all-reduce workers (batch 16 each) land in the same
  accuracy band (one process: 0.71 when this was written; chance 0.2)."""
  data = h.make_shapes(tmp_path / 'shapes', train=480, validation=100)
  recipe = dict(max_number_of_steps=300, learning_rate=0.1,
                log_every_n_steps=100, seed=1)
  single_dir, cluster_dir = tmp_path / 'single', tmp_path / 'cluster'
  train_image_classifier.train(h.train_values(data, single_dir,
                                              batch_size=32, **recipe))
  cluster = make_cluster(_train_args(data, cluster_dir, batch_size=16,
                                     **recipe))
  cluster.start_all()
  _all_exit_zero(cluster)
  assert h.checkpoint_step(cluster_dir) == 300
  accuracy = {
      name: eval_image_classifier.evaluate(
          h.eval_values(data, tmp_path / f'{name}_eval'),
          str(train_dir))['Accuracy']
      for name, train_dir in (('single', single_dir),
                              ('cluster', cluster_dir))}
  assert min(accuracy.values()) > 0.5, accuracy
  assert abs(accuracy['single'] - accuracy['cluster']) < 0.2, accuracy
