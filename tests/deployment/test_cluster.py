"""deployment/cluster.py and the training script's cluster flags: parsing,
checks and their one-line errors, without starting any process."""
import json
import re
import socket
import threading
import time
from unittest import mock

import pytest

from deployment import cluster as cluster_lib
from deployment import model_deploy
from image_classifier import cli
from tests import cli_harness as h
from tests.deployment import cluster_harness as ch

train_image_classifier = h.script_module('train_image_classifier')

PS = 'localhost:2222'
WORKERS = 'localhost:2223,localhost:2224'


def _tf_config(cluster, task_type='worker', index=0):
  return json.dumps({'cluster': cluster,
                     'task': {'type': task_type, 'index': index}})


def test_flags_describe_the_cluster():
  cluster = cluster_lib.from_flags(PS, WORKERS, 'worker', 1)
  assert cluster.jobs == {'ps': [PS], 'worker': WORKERS.split(',')}
  assert (cluster.num_ps, cluster.num_replicas) == (1, 2)
  assert (cluster.replica_id, cluster.is_chief) == (1, False)
  assert cluster.device == '/job:worker/task:1'
  assert list(cluster.session_config().device_filters) == [
      '/job:ps', '/job:worker/task:1']
  ps = cluster_lib.from_flags(PS, WORKERS, 'ps', 0)
  assert ps.is_ps and not ps.is_chief
  assert list(ps.session_config().device_filters) == ['/job:ps/task:0']
  assert cluster_lib.from_flags('', '', None, 0, tf_config=None) is None


def test_tf_config_describes_the_cluster_with_a_chief():
  text = _tf_config({'chief': ['c:1'], 'worker': ['w:1', 'w:2'],
                     'ps': ['p:1', 'p:2']}, 'worker', 1)
  cluster = cluster_lib.from_flags('', '', None, 0, tf_config=text)
  # The chief is replica 0, the workers follow it.
  assert (cluster.num_replicas, cluster.replica_id, cluster.num_ps) == (3, 2,
                                                                        2)
  assert cluster.device == '/job:worker/task:1'
  chief = cluster_lib.from_flags(
      '', '', None, 0, tf_config=_tf_config(
          {'chief': ['c:1'], 'worker': ['w:1'], 'ps': ['p:1']}, 'chief', 0))
  assert chief.is_chief and chief.device == '/job:chief/task:0'


@pytest.mark.parametrize('args, match', [
    (('localhost', WORKERS, 'worker', 0), r"--ps_hosts holds 'localhost'"),
    ((PS, 'a:1,b:x', 'worker', 0), r"--worker_hosts holds 'b:x'"),
    ((PS, 'a:1,a:1', 'worker', 0), 'lists an address twice'),
    ((PS, WORKERS, 'evaluator', 0), r"--job_name='evaluator' is not a job"),
    ((PS, WORKERS, None, 0), '--job_name must be ps or worker'),
    ((PS, WORKERS, 'worker', 2), 'task 2 is outside the worker job, which '
     r'has 2 tasks \(0 to 1\)'),
    ((PS, WORKERS, 'ps', -1), 'task -1 is outside the ps job'),
    ((PS, '', 'ps', 0), 'no worker'),
    (('', '', 'worker', 0), '--job_name needs --ps_hosts'),
])
def test_bad_cluster_flags_are_named(args, match):
  with pytest.raises(ValueError, match=match):
    cluster_lib.from_flags(*args)


@pytest.mark.parametrize('text, match', [
    ('{"cluster": ', 'TF_CONFIG is not valid JSON'),
    ('[]', 'TF_CONFIG must look like'),
    (_tf_config({'ps': [PS], 'worker': 'w:1'}), 'cluster.worker must be a '
     'list'),
    (_tf_config({'ps': [PS], 'worker': ['w:1'], 'master': ['m:1']}),
     "names the job 'master'.*eval_image_classifier"),
    (_tf_config({'ps': [PS], 'worker': ['w:1']}, 'worker', 3),
     'task 3 is outside the worker job'),
    (_tf_config({'ps': [PS], 'worker': ['w:1']}, 'worker', '0'),
     'task.index must be an integer'),
    (_tf_config({'ps': [PS], 'worker': ['w']}), "cluster.worker holds 'w'"),
])
def test_bad_tf_config_is_named(text, match):
  with pytest.raises(ValueError, match=match):
    cluster_lib.from_flags('', '', None, 0, tf_config=text)


def _values(**overrides):
  return h.flag_values('train_image_classifier', **overrides)


def test_cluster_decides_replicas_and_ps_tasks():
  deployment = train_image_classifier.resolve_deployment(
      _values(ps_hosts=PS, worker_hosts=WORKERS, job_name='worker', task=1))
  assert (deployment.num_replicas, deployment.num_ps_tasks,
          deployment.replica_id, deployment.is_chief) == (2, 1, 1, False)
  config = deployment.config(num_clones=1, clone_on_cpu=False)
  assert config.clone_device(0) == '/job:worker/task:1/device:CPU:0'
  assert config.inputs_device() == '/job:worker/task:1/device:CPU:0'
  # Agreeing explicit values are fine.
  train_image_classifier.resolve_deployment(
      _values(ps_hosts=PS, worker_hosts=WORKERS, job_name='worker',
              worker_replicas=2, num_ps_tasks=1))


@pytest.mark.parametrize('overrides, given, match', [
    (dict(worker_replicas=3), None, '--worker_replicas=3 disagrees with the '
     'cluster, which has 2'),
    (dict(num_ps_tasks=2), None, '--num_ps_tasks=2 disagrees'),
    # Given on the command line, even the default value must agree.
    (dict(worker_replicas=1), {'worker_replicas'}, '--worker_replicas=1 '
     'disagrees'),
    (dict(master='grpc://x:1'), None, 'cannot be combined with a cluster'),
])
def test_flags_that_disagree_with_the_cluster(overrides, given, match):
  values = _values(ps_hosts=PS, worker_hosts=WORKERS, job_name='worker',
                   **overrides)
  with pytest.raises(cli.UserError, match=match):
    train_image_classifier.resolve_deployment(values, given=given)


@pytest.mark.parametrize('overrides, match', [
    (dict(worker_replicas=2), 'describe a cluster'),
    (dict(num_ps_tasks=1), 'describe a cluster'),
    (dict(task=1), 'describe a cluster'),
    (dict(master='grpc://x:1', worker_replicas=2, task=2),
     '--task=2 must be between 0 and --worker_replicas - 1'),
])
def test_replica_flags_without_a_cluster(overrides, match):
  with pytest.raises(cli.UserError, match=match):
    train_image_classifier.resolve_deployment(_values(**overrides))


def test_the_original_master_flags_still_work():
  """--master=grpc://... to a server the user started, as upstream."""
  deployment = train_image_classifier.resolve_deployment(_values(
      master='grpc://w1:2222', worker_replicas=2, num_ps_tasks=1, task=1))
  assert (deployment.master, deployment.replica_id, deployment.cluster) == (
      'grpc://w1:2222', 1, None)
  config = deployment.config(num_clones=1, clone_on_cpu=False)
  assert config.variables_device()


def test_tf_config_is_read_from_the_environment(monkeypatch):
  monkeypatch.setenv('TF_CONFIG', _tf_config(
      {'ps': [PS], 'worker': WORKERS.split(',')}, 'ps', 0))
  deployment = train_image_classifier.resolve_deployment(_values())
  assert deployment.cluster.is_ps and deployment.num_replicas == 2


def test_fewer_gpus_than_clones_suggests_clone_on_cpu(monkeypatch):
  monkeypatch.setattr(model_deploy, '_num_gpus', lambda: 1)
  with pytest.raises(ValueError, match='num_clones=2 needs 2 GPUs and this '
                     'machine has 1.*--clone_on_cpu'):
    model_deploy.DeploymentConfig(num_clones=2)
  config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
  assert config.clone_device(1) == '/device:CPU:0'
  config = model_deploy.DeploymentConfig(num_clones=1)
  assert config.clone_device(0) == '/device:GPU:0'


def _listening_socket():
  server = socket.socket()
  server.bind(('127.0.0.1', 0))
  server.listen()
  return server


def test_wait_for_tasks_names_the_missing_task():
  server = _listening_socket()
  with server:
    up = f'127.0.0.1:{server.getsockname()[1]}'
    cluster = cluster_lib.from_flags(up, '127.0.0.1:1', 'worker', 0)
    cluster_lib.wait_for_tasks(cluster, ['ps'], timeout_secs=5)
    with pytest.raises(cluster_lib.TaskUnreachable,
                       match=r'worker task 0 at 127.0.0.1:1 did not answer '
                       r'within 0.3 s'):
      cluster_lib.wait_for_tasks(cluster, ['worker'], timeout_secs=0.3,
                                 poll_secs=0.05)


def test_watching_reports_a_task_that_went_away():
  server = _listening_socket()
  address = f'127.0.0.1:{server.getsockname()[1]}'
  cluster = cluster_lib.from_flags(address, '127.0.0.1:1', 'worker', 0)
  lost = []
  reported = threading.Event()

  def on_lost(message):
    lost.append(message)
    reported.set()

  with cluster_lib.watching(cluster, ['ps'], on_lost, interval_secs=0.05,
                            misses=2):
    assert not reported.wait(0.3)  # up: nothing said
    server.close()
    assert reported.wait(10)
  assert lost == [f'Lost contact with ps task 0 at {address}, so training '
                  'stopped. Restart it (or the whole cluster) with the same '
                  'commands: training resumes from the last checkpoint in '
                  '--train_dir.']


def test_script_reports_bad_cluster_flags_in_one_line():
  # The messages of every case are checked in-process above; this checks
  # the script's path: one line, exit 2, no traceback.
  result = h.run_script('train_image_classifier.py', '--ps_hosts=localhost',
                        '--worker_hosts=localhost:1', '--job_name=worker')
  assert h.user_error(result, 'train_image_classifier.py').startswith(
      "--ps_hosts holds 'localhost', which is not host:port"), result.stderr


def test_script_reports_malformed_tf_config_in_one_line(monkeypatch):
  monkeypatch.setenv('TF_CONFIG', '{"cluster": {"ps": ["a:1"]')
  result = h.run_script('train_image_classifier.py')
  assert h.user_error(result, 'train_image_classifier.py').startswith(
      'TF_CONFIG is not valid JSON'), result.stderr


def test_ps_cannot_start_on_a_port_in_use():
  server = _listening_socket()
  with server:
    address = f'127.0.0.1:{server.getsockname()[1]}'
    result = h.run_script('train_image_classifier.py', f'--ps_hosts={address}',
                          '--worker_hosts=127.0.0.1:1', '--job_name=ps')
  assert 'cannot start the server of ps task 0' in h.user_error(
      result, 'train_image_classifier.py'), result.stderr


def _listening_addresses(port):
  """The local addresses of the sockets listening on `port`, read from the
  kernel's socket tables (no connection is made)."""
  found = []
  for table in ('/proc/net/tcp', '/proc/net/tcp6'):
    with open(table) as f:
      for line in f.read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, _, hex_port = local.rpartition(':')
        if state == '0A' and int(hex_port, 16) == port:  # 0A: LISTEN
          found.append(address)
  return found


def test_tensorflow_server_listens_on_every_interface():
  """What TensorFlow does with the address it is given, as docs/security.md
  says: its gRPC server binds 0.0.0.0:PORT (dual-stack,
  listed as [::]) even for a 127.0.0.1 cluster, so the port is reachable
  from every interface. If a TensorFlow release learns to bind the given
  address, this test fails and docs/security.md must say so."""
  [port] = ch.free_ports(1)
  cluster = cluster_lib.from_flags('', f'127.0.0.1:{port}', 'worker', 0)
  cluster_lib.start_server(cluster)
  addresses = _listening_addresses(port)
  assert addresses, 'the server is not listening'
  assert set(addresses) <= {'00000000', '0' * 32}, addresses  # 0.0.0.0, [::]


@pytest.mark.parametrize('hosts,public', [
    ('127.0.0.1:2222,localhost:2223', []),
    ('10.1.2.3:2222,192.168.0.7:2222,172.16.5.5:2222', []),
    ('[::1]:2222,[fe80::1]:2222', []),
    ('8.8.4.4:2222,10.0.0.1:2222', ['8.8.4.4:2222']),
    ('[2001:4860::1]:2222', ['[2001:4860::1]:2222']),
])
def test_public_cluster_addresses_are_warned_about(hosts, public):
  # Literal addresses only: nothing is resolved over a network.
  ps, _, workers = hosts.partition(',')
  cluster = cluster_lib.from_flags(ps, workers or '127.0.0.1:1', 'worker', 0)
  warning = cluster_lib.exposure_warning(cluster)
  if not public:
    assert warning is None
  else:
    assert warning.startswith(f'Cluster address(es) {", ".join(public)} are '
                              'not on a private network')
    assert 'no authentication' in warning and '\n' not in warning


def test_stall_report_names_the_silent_worker():
  server = _listening_socket()
  with server:
    alive = f'127.0.0.1:{server.getsockname()[1]}'
    cluster = cluster_lib.from_flags('127.0.0.1:1', f'{alive},127.0.0.1:1',
                                     'worker', 0)
    warnings = []
    report = cluster_lib.reporting_stalls(cluster, every_secs=0.1)
    with mock.patch.object(cluster_lib.logging, 'warning', warnings.append):
      with report:
        report.step_callback(7, 0.5, 0.1)
        deadline = time.time() + 10
        while not warnings and time.time() < deadline:
          time.sleep(0.05)
  assert warnings, 'nothing was logged'
  assert re.fullmatch(
      r'No step finished for \d+ s after global step 7: a synchronous step '
      r'waits for the gradients of other replicas \(not answering: worker '
      r'task 1 at 127\.0\.0\.1:1; restart it with the same command\)\.',
      warnings[0]), warnings[0]
