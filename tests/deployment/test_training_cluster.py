"""deployment/training_cluster.py: a request resolved to a Deployment, its
one-line errors, the lines for a lost cluster, the finished signal and the
parameter server's exit, without starting any server or process."""
import json
import socket

import pytest
import tensorflow as tf

from deployment import cluster as cluster_lib
from deployment import training_cluster as tc

tf1 = tf.compat.v1

PS = 'localhost:2222'
WORKERS = 'localhost:2223,localhost:2224'


def _request(**fields):
  return tc.DeploymentRequest(**fields)


def _cluster_request(**fields):
  return tc.DeploymentRequest(ps_hosts=PS, worker_hosts=WORKERS,
                              job_name='worker', **fields)


def test_no_cluster_trains_in_process():
  deployment = tc.resolve(_request())
  assert (deployment.cluster, deployment.master, deployment.num_replicas,
          deployment.num_ps_tasks, deployment.replica_id) == (None, '', 1, 0,
                                                              0)
  assert deployment.is_chief and not deployment.distributed
  assert not deployment.is_parameter_server
  assert deployment.ready_wait_secs is None
  config = deployment.session_config()
  assert config.allow_soft_placement and not config.device_filters
  assert deployment.config(1, False).clone_device(0) == '/device:CPU:0'


def test_master_of_a_server_the_user_started():
  deployment = tc.resolve(_request(master='grpc://w1:2222', worker_replicas=3,
                                   num_ps_tasks=1, task=2,
                                   startup_timeout_secs=7))
  assert (deployment.master, deployment.replica_id, deployment.is_chief,
          deployment.distributed, deployment.ready_wait_secs) == (
              'grpc://w1:2222', 2, False, True, 7)


def test_cluster_flags_decide_replicas_and_placement():
  deployment = tc.resolve(_cluster_request(task=1, startup_timeout_secs=9))
  assert (deployment.num_replicas, deployment.num_ps_tasks,
          deployment.replica_id, deployment.master) == (2, 1, 1, '')
  assert deployment.ready_wait_secs == 9
  config = deployment.config(num_clones=2, clone_on_cpu=True)
  assert config.clone_device(1) == '/job:worker/task:1/device:CPU:0'
  assert config.inputs_device() == '/job:worker/task:1/device:CPU:0'
  assert list(deployment.session_config().device_filters) == [
      '/job:ps', '/job:worker/task:1']
  assert deployment.session_config().allow_soft_placement


def test_tf_config_names_a_parameter_server():
  text = json.dumps({'cluster': {'ps': [PS], 'worker': WORKERS.split(',')},
                     'task': {'type': 'ps', 'index': 0}})
  deployment = tc.resolve(_request(tf_config=text))
  assert deployment.is_parameter_server
  assert deployment.num_replicas == 2


@pytest.mark.parametrize('fields, message', [
    (dict(worker_replicas=2), '--worker_replicas, --num_ps_tasks and --task '
     'describe a cluster: give --ps_hosts, --worker_hosts and --job_name (or '
     'set TF_CONFIG), or --master=grpc://... of a server you started.'),
    (dict(master='grpc://x:1', worker_replicas=2, task=2),
     '--task=2 must be between 0 and --worker_replicas - 1 (1).'),
    (dict(ps_hosts=PS, worker_hosts=WORKERS, job_name='worker',
          master='grpc://x:1'),
     '--master=grpc://x:1 cannot be combined with a cluster '
     '(--ps_hosts/--worker_hosts or TF_CONFIG): this process starts its own '
     'server.'),
    (dict(ps_hosts=PS, worker_hosts=WORKERS, job_name='worker',
          worker_replicas=3),
     '--worker_replicas=3 disagrees with the cluster, which has 2; leave it '
     'out (the cluster decides it).'),
    # Given on the command line, even the default must agree.
    (dict(ps_hosts=PS, worker_hosts=WORKERS, job_name='worker',
          given=frozenset({'num_ps_tasks'})),
     '--num_ps_tasks=0 disagrees with the cluster, which has 1; leave it out '
     '(the cluster decides it).'),
    (dict(ps_hosts='localhost', worker_hosts=WORKERS, job_name='worker'),
     "--ps_hosts holds 'localhost', which is not host:port (for example "
     'localhost:2222).'),
])
def test_bad_requests_end_in_one_line(fields, message):
  with pytest.raises(ValueError) as raised:
    tc.resolve(_request(**fields))
  assert str(raised.value) == message


def test_agreeing_values_and_defaults_not_given_are_fine():
  tc.resolve(_cluster_request(worker_replicas=2, num_ps_tasks=1))
  tc.resolve(_cluster_request(given=frozenset()))


def test_nothing_to_start_or_watch_without_a_cluster():
  deployment = tc.resolve(_request())
  assert tc.start_worker(deployment) is deployment
  with tc.watching_parameter_servers(deployment, on_lost=None):
    pass
  assert tc.stall_reporter(deployment, every_secs=1) is None


def test_task_unreachable_is_a_user_error():
  assert issubclass(cluster_lib.TaskUnreachable, ValueError)


def _listening_socket():
  server = socket.socket()
  server.bind(('127.0.0.1', 0))
  server.listen()
  return server


def _unavailable(text='Socket closed\nmore detail'):
  return tf.errors.UnavailableError(None, None, text)


def test_failure_message_is_none_for_a_run_on_one_machine():
  deployment = tc.resolve(_request())
  assert tc.failure_message(deployment, _unavailable()) is None


def test_failure_message_asks_for_the_chief_after_a_deadline():
  deployment = tc.resolve(_request(master='grpc://x:1', worker_replicas=2,
                                   task=1))
  error = tf.errors.DeadlineExceededError(None, None, 'Waited 5 s.')
  assert tc.failure_message(deployment, error) == (
      'Waited 5 s. Is the chief (replica 0) running?')
  other = tf.errors.InvalidArgumentError(None, None, 'a bug')
  assert tc.failure_message(deployment, other) is None


def test_failure_message_names_the_lost_master():
  deployment = tc.resolve(_request(master='grpc://x:1', worker_replicas=2,
                                   task=1))
  assert tc.failure_message(deployment, _unavailable()) == (
      'Lost contact with the master grpc://x:1 (Socket closed).')
  assert tc.failure_message(
      deployment, tf.errors.AbortedError(None, None, '')) == (
          'Lost contact with the master grpc://x:1 (AbortedError).')


def test_failure_message_names_a_parameter_server_that_is_gone():
  # Port 1 on loopback refuses connections: the ps is gone.
  deployment = tc.resolve(_request(ps_hosts='127.0.0.1:1',
                                   worker_hosts=WORKERS, job_name='worker'))
  assert tc.failure_message(deployment, _unavailable()) == (
      'Lost contact with ps task 0 at 127.0.0.1:1, so training stopped. '
      'Restart it (or the whole cluster) with the same commands: training '
      'resumes from the last checkpoint in --train_dir.')


def test_failure_message_when_the_parameter_servers_still_answer():
  with _listening_socket() as server:
    ps = f'127.0.0.1:{server.getsockname()[1]}'
    deployment = tc.resolve(_request(ps_hosts=ps, worker_hosts=WORKERS,
                                     job_name='worker'))
    message = tc.failure_message(deployment, _unavailable())
  assert message == (
      'Lost contact with the cluster during training (Socket closed). '
      'Restart the stopped task (or the whole cluster) with the same '
      'commands; training resumes from the last checkpoint in --train_dir.')


@pytest.mark.parametrize('step, limit, done_ops, signalled', [
    (5, 5, True, True),
    (4, 5, True, False),    # stopped early: not finished
    (5, None, True, False),  # no limit: never finished
    (5, 5, False, False),   # no cluster: nothing to signal
])
def test_done_is_signalled_once_the_limit_is_reached(step, limit, done_ops,
                                                     signalled):
  calls = []
  with tf.Graph().as_default():
    global_step = tf.constant(step, tf.int64)
    ops = ([tf.py_function(lambda: calls.append(1) or 0, [], tf.int32)]
           if done_ops else [])
    tc.signal_done_if_finished(tc.resolve(_request()), global_step, ops,
                               limit)
  assert bool(calls) == signalled


class _Exited(Exception):
  pass


def test_a_stopped_parameter_server_skips_the_teardown(monkeypatch):
  def fake_exit(status):
    raise _Exited(status)

  monkeypatch.setattr(tc.os, '_exit', fake_exit)
  with pytest.raises(_Exited) as exited:
    tc.exit_parameter_server(143)
  assert exited.value.args == (143,)
  with pytest.raises(SystemExit) as finished:
    tc.exit_parameter_server(0)
  assert finished.value.code == 0
