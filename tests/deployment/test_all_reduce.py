"""deployment/all_reduce.py and its wiring: a cluster of workers without
parameter servers resolves to a collective group; two in-process servers
on loopback broadcast, average and re-average for real; the training
graph holds the collectives where they belong; the one-line failures."""
import socket
import threading

import numpy as np
import pytest
import tensorflow as tf

from deployment import all_reduce
from deployment import cluster as cluster_lib
from deployment import model_deploy
from deployment import training_cluster as tc
from image_classifier import cli
from tests import cli_harness as h
from tests.deployment import cluster_harness as ch

tf1 = tf.compat.v1
train_image_classifier = h.script_module('train_image_classifier')

WORKERS = 'localhost:2223,localhost:2224'
_COLLECTIVES = ('CollectiveReduce', 'CollectiveBcastSend',
                'CollectiveBcastRecv')


def _worker(task=0, **fields):
  return tc.resolve(tc.DeploymentRequest(worker_hosts=WORKERS,
                                         job_name='worker', task=task,
                                         **fields))


# ----------------------------------------------------------------- resolving
def test_workers_without_parameter_servers_form_a_group():
  deployment = _worker(task=1, all_reduce_timeout_secs=7,
                       startup_timeout_secs=9)
  assert deployment.collective == all_reduce.CollectiveGroup(
      size=2, is_chief=False, leader='/job:worker/replica:0/task:0',
      timeout_secs=7, startup_timeout_secs=9)
  assert (deployment.num_replicas, deployment.num_ps_tasks,
          deployment.distributed) == (2, 0, True)
  config = deployment.session_config()
  assert config.experimental.collective_group_leader == (
      '/job:worker/replica:0/task:0')
  assert '/job:worker/task:1' in config.device_filters
  # Every device on this task; the other workers are whom it waits for.
  assert deployment.config(2, True).clone_device(1) == '/device:CPU:0'
  assert deployment.peer_jobs == ['worker']


def test_a_tf_config_chief_leads_the_group():
  text = ('{"cluster": {"chief": ["c:1"], "worker": ["w:1"]}, '
          '"task": {"type": "worker", "index": 0}}')
  deployment = tc.resolve(tc.DeploymentRequest(tf_config=text))
  assert deployment.collective.leader == '/job:chief/replica:0/task:0'
  assert deployment.collective.size == 2
  assert not deployment.collective.is_chief
  assert deployment.peer_jobs == ['chief', 'worker']


@pytest.mark.parametrize('fields', [
    dict(worker_hosts='localhost:2223', job_name='worker'),  # one worker
    dict(ps_hosts='localhost:2222', worker_hosts=WORKERS, job_name='worker'),
    dict(),  # no cluster
])
def test_other_deployments_have_no_group(fields):
  assert tc.resolve(tc.DeploymentRequest(**fields)).collective is None


def test_a_timeout_that_is_not_positive_is_named():
  with pytest.raises(ValueError, match='--all_reduce_timeout_secs must be '
                     'positive; got 0'):
    _worker(all_reduce_timeout_secs=0)


def test_the_deployment_config_takes_replicas_without_ps_only_for_all_reduce():
  with pytest.raises(ValueError, match='num_ps_tasks must be positive'):
    model_deploy.DeploymentConfig(num_replicas=2, replica_id=1)
  config = model_deploy.DeploymentConfig(num_replicas=2, replica_id=1,
                                         all_reduce=True)
  assert config.variables_device() == '/device:CPU:0'


# ------------------------------------------------------------------ failures
def _listening_socket():
  server = socket.socket()
  server.bind(('127.0.0.1', 0))
  server.listen()
  return server


def test_failure_names_the_worker_that_is_gone():
  with _listening_socket() as me:
    # Port 1 on loopback refuses connections: worker 1 is gone.
    hosts = f'127.0.0.1:{me.getsockname()[1]},127.0.0.1:1'
    deployment = tc.resolve(tc.DeploymentRequest(worker_hosts=hosts,
                                                 job_name='worker'))
    for error in (tf.errors.DeadlineExceededError(None, None, 'timed out'),
                  tf.errors.UnavailableError(None, None, 'Socket closed')):
      assert tc.failure_message(deployment, error) == (
          'Lost contact with worker task 1 at 127.0.0.1:1, so training '
          'stopped. Restart it (or the whole cluster) with the same '
          'commands: training resumes from the last checkpoint in '
          '--train_dir.')
    assert tc.failure_message(deployment, tf.errors.InvalidArgumentError(
        None, None, 'a bug')) is None


def test_failure_names_the_timeout_when_every_worker_answers():
  with _listening_socket() as one, _listening_socket() as two:
    hosts = ','.join(f'127.0.0.1:{s.getsockname()[1]}' for s in (one, two))
    deployment = tc.resolve(tc.DeploymentRequest(
        worker_hosts=hosts, job_name='worker', all_reduce_timeout_secs=7,
        startup_timeout_secs=9))
    step = tc.failure_message(deployment, tf.errors.DeadlineExceededError(
        None, None, 'Collective has timed out waiting for other workers.'))
    start = tc.failure_message(deployment, tf.errors.DeadlineExceededError(
        None, None, 'timed out [[{{node all_reduce_broadcast/'
        'CollectiveBcastSend}}]]'))
  assert step.startswith('An all-reduce step waited more than 7 s '
                         '(--all_reduce_timeout_secs)'), step
  assert 'more than 9 s (--cluster_startup_timeout_secs)' in start, start


# ------------------------------------------------------ collectives, for real
def _group_on_loopback():
  """Two all-reduce workers' (cluster, group, server) in this process."""
  hosts = [f'localhost:{port}' for port in ch.free_ports(2)]
  tasks = []
  for task in range(2):
    cluster = cluster_lib.Cluster({'worker': hosts}, 'worker', task)
    group = all_reduce.group_of(cluster, timeout_secs=20,
                                startup_timeout_secs=20)
    config = all_reduce.session_config(cluster.session_config(), group)
    tasks.append((cluster, group,
                  cluster_lib.start_server(cluster, config)))
  return tasks


def _worker_graph(task, group):
  """A worker's variables (different per task), its start-up sync, its
  gradient average and its statistics average."""
  graph = tf.Graph()
  with graph.as_default(), tf1.device('/device:CPU:0'):
    weights = tf1.Variable([[1.0, 2.0], [3.0, 4.0]] if task == 0
                           else [[9.0, 9.0], [9.0, 9.0]], name='weights')
    step = tf1.Variable(5 if task == 0 else 0, dtype=tf.int64, name='step')
    statistic = tf1.Variable([0.0], name='statistic')
    variables = [weights, step, statistic]
    ops = dict(
        init=(tf1.global_variables_initializer() if task == 0
              else tf.no_op()),
        sync=all_reduce.initial_sync_op(variables, group),
        gradients=all_reduce.mean_gradients(
            [(tf.constant([[1.0, 2.0], [3.0, 4.0]]) * (task + 1), weights),
             (None, step)], group))
    with tf.control_dependencies([statistic.assign([2.0 + 4.0 * task])]):
      ops['statistic'] = all_reduce.mean_in_place([statistic], group)
  return graph, variables, ops


def test_two_workers_start_alike_average_and_end_alike():
  results = {}

  def run(task, cluster, group, server):
    graph, variables, ops = _worker_graph(task, group)
    config = all_reduce.session_config(cluster.session_config(), group)
    with tf1.Session(server.target, graph=graph, config=config) as sess:
      sess.run(ops['init'])
      sess.run(ops['sync'])
      start = sess.run(variables[:2])
      (mean, weights), = ops['gradients']
      averaged = sess.run(mean)
      sess.run(ops['statistic'])
      results[task] = dict(
          start=start, averaged=averaged, weights=weights.op.name,
          statistic=sess.run(variables[2]),
          checksum=all_reduce.variables_checksum(sess, variables))

  threads = [threading.Thread(target=run, args=(task,) + parts)
             for task, parts in enumerate(_group_on_loopback())]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join(timeout=120)
  assert set(results) == {0, 1}
  for task in (0, 1):
    result = results[task]
    # The chief's values, dtypes packed separately (float32, int64).
    np.testing.assert_array_equal(result['start'][0], [[1, 2], [3, 4]])
    assert result['start'][1] == 5
    # (1x + 2x) / 2 of each gradient; the None one dropped.
    np.testing.assert_array_equal(result['averaged'],
                                  [[1.5, 3.0], [4.5, 6.0]])
    assert result['weights'] == 'weights'
    # (2 + 6) / 2
    np.testing.assert_array_equal(result['statistic'], [4.0])
  assert results[0]['checksum'] == results[1]['checksum']


# ------------------------------------------------------------- the graph
@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'), train=96,
                       validation=8)


def _graph_of(data, tmp_path, task, **overrides):
  values = h.train_values(data, tmp_path / 'train',
                          worker_hosts=WORKERS, job_name='worker', task=task,
                          all_reduce_timeout_secs=7, **overrides)
  return train_image_classifier.build_training_graph(values)


def _collectives_under(tensors):
  """The collective ops that `tensors` depend on (inputs and control)."""
  seen, pending, found = set(), [t.op if hasattr(t, 'op') else t
                                 for t in tensors], []
  while pending:
    op = pending.pop()
    if op in seen:
      continue
    seen.add(op)
    if op.type in _COLLECTIVES:
      found.append(op)
    pending.extend(i.op for i in op.inputs)
    pending.extend(op.control_inputs)
  return found


def test_the_graph_averages_gradients_and_syncs_variables_at_start(
    data, tmp_path):
  with tf.Graph().as_default() as graph:
    training = _graph_of(data, tmp_path, task=1, num_clones=2,
                         clone_on_cpu=True, summarize_gradients=True)
    reduces = [op for op in graph.get_operations()
               if op.type == 'CollectiveReduce']
    # One all-reduce of the float32 gradients; CifarNet has no statistic.
    assert len(reduces) == 1
    assert reduces[0].get_attr('group_size') == 2
    assert reduces[0].get_attr('timeout_seconds') == 7
    assert _collectives_under([training.train_tensor]) == reduces
    # Summaries (the chief's, between steps) never wait for the others.
    assert not _collectives_under([training.summary_op])
    local_init, = tf1.get_collection(tf1.GraphKeys.LOCAL_INIT_OP)
    assert [op.type for op in _collectives_under([local_init])] == [
        'CollectiveBcastRecv'] * 2  # float32 and the int64 global step
    assert training.worker_variables == tf1.global_variables()


def test_the_schedule_counts_the_global_batch(data, tmp_path):
  # 96 examples / (batch 8 x 2 workers x 2 clones) = 3 steps per epoch:
  # the exponential schedule halves the rate at step 3 (one epoch).
  with tf.Graph().as_default():
    training = _graph_of(data, tmp_path, task=0, num_clones=2,
                         clone_on_cpu=True,
                         learning_rate_decay_type='exponential',
                         learning_rate_decay_factor=0.5,
                         num_epochs_per_decay=1.0, learning_rate=0.08)
    with tf1.Session() as sess:
      sess.run(training.global_step.assign(3))
      assert sess.run(training.learning_rate) == pytest.approx(0.04)


def test_sync_replicas_is_refused_with_all_reduce(data, tmp_path):
  with tf.Graph().as_default(), pytest.raises(
      cli.UserError, match='workers without --ps_hosts already train '
      'synchronously'):
    _graph_of(data, tmp_path, task=0, sync_replicas=True)
