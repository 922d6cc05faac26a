"""TF_CONFIG as the launchers set it (Ray Train, Kubeflow's TFJob, Vertex
AI; fixtures/tf_config/README.md says where each comes from) describes the
cluster it means, its own fields are ignored, a malformed one is named in
one line, and an evaluator task is eval_image_classifier.py's."""
import glob
import json
import os

import pytest

from deployment import cluster as cluster_lib
from image_classifier import cli
from tests import cli_harness as h

train_image_classifier = h.script_module('train_image_classifier')
eval_image_classifier = h.script_module('eval_image_classifier')

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'tf_config')

RAY = ['10.128.0.12:43517', '10.128.0.13:40931', '10.128.0.14:39103']
TFJOB = 'shapes-cifarnet-{}.ml-team.svc{}:2222'
VERTEX = 'workerpool{}-7d6f1e2a9b-{}:2222'

# fixture: (jobs, job_name, task, replica_id, is_chief), written from what
# each launcher documents; None for an evaluator task.
EXPECTED = {
    'ray_train_worker_0': ({'worker': RAY}, 'worker', 0, 0, True),
    'ray_train_worker_1': ({'worker': RAY}, 'worker', 1, 1, False),
    'kubeflow_tfjob_worker_1': (
        {'chief': [TFJOB.format('chief-0', '')],
         'ps': [TFJOB.format('ps-0', '')],
         'worker': [TFJOB.format('worker-0', ''),
                    TFJOB.format('worker-1', '')]}, 'worker', 1, 2, False),
    'kubeflow_tfjob_ps_0': (
        {'chief': [TFJOB.format('chief-0', '.cluster.local')],
         'ps': [TFJOB.format('ps-0', '.cluster.local')],
         'worker': [TFJOB.format('worker-0', '.cluster.local'),
                    TFJOB.format('worker-1', '.cluster.local')]},
        'ps', 0, 0, False),
    'kubeflow_tfjob_all_reduce_chief_0': (
        {'chief': [TFJOB.format('chief-0', '')],
         'worker': [TFJOB.format('worker-0', ''),
                    TFJOB.format('worker-1', '')]}, 'chief', 0, 0, True),
    'kubeflow_tfjob_evaluator_0': None,
    # Vertex lists its evaluator in the cluster: it is not a training task.
    'vertex_ai_chief_0': (
        {'chief': [VERTEX.format(0, 0)],
         'worker': [VERTEX.format(1, 0), VERTEX.format(1, 1)],
         'ps': [VERTEX.format(2, 0)]}, 'chief', 0, 0, True),
    'vertex_ai_worker_1': (
        {'chief': [VERTEX.format(0, 0)],
         'worker': [VERTEX.format(1, 0), VERTEX.format(1, 1)],
         'ps': [VERTEX.format(2, 0)]}, 'worker', 1, 2, False),
    'vertex_ai_evaluator_0': None,
    # A job of one machine still gets a TF_CONFIG: a cluster of one.
    'vertex_ai_single_replica_chief_0': (
        {'chief': ['workerpool0-3b9e0c4d71-0:2222']}, 'chief', 0, 0, True),
}


def _fixture(name):
  with open(os.path.join(FIXTURES, name + '.json'), encoding='utf-8') as f:
    return f.read()


def test_every_launcher_fixture_is_checked():
  names = {os.path.basename(p)[:-len('.json')]
           for p in glob.glob(os.path.join(FIXTURES, '*.json'))}
  # The Indexed Job's is built and checked by test_tf_config_k8s.py.
  assert names - {'k8s_indexed_job_worker_1'} == set(EXPECTED)


@pytest.mark.parametrize('name', sorted(
    n for n, expected in EXPECTED.items() if expected))
def test_launchers_tf_config_describes_its_cluster(name):
  jobs, job_name, task, replica_id, is_chief = EXPECTED[name]
  cluster = cluster_lib.from_flags('', '', None, 0, _fixture(name))
  assert cluster.jobs == jobs
  assert (cluster.job_name, cluster.task) == (job_name, task)
  assert (cluster.replica_id, cluster.is_chief) == (replica_id, is_chief)
  assert cluster.num_replicas == len(jobs.get('chief', ())) + len(
      jobs.get('worker', ()))
  assert cluster.has_parameter_servers == ('ps' in jobs)
  assert cluster.is_ps == (job_name == 'ps')


@pytest.mark.parametrize('name', ['kubeflow_tfjob_worker_1',
                                  'kubeflow_tfjob_ps_0',
                                  'vertex_ai_chief_0'])
def test_parameter_server_launchers_resolve_to_a_deployment(monkeypatch,
                                                            name):
  """What the training script makes of them, as far as a deployment."""
  monkeypatch.setenv('TF_CONFIG', _fixture(name))
  deployment = train_image_classifier.resolve_deployment(
      h.flag_values('train_image_classifier'))
  jobs, job_name, _, replica_id, _ = EXPECTED[name]
  assert deployment.num_replicas == len(jobs['chief']) + len(jobs['worker'])
  assert deployment.num_ps_tasks == len(jobs['ps'])
  assert deployment.replica_id == replica_id
  assert deployment.is_parameter_server == (job_name == 'ps')


def test_a_cluster_without_parameter_servers_is_described():
  """Workers only (Ray Train) or a chief and workers: the all-reduce
  engine's clusters, told apart by has_parameter_servers."""
  for name in ('ray_train_worker_1', 'kubeflow_tfjob_all_reduce_chief_0'):
    cluster = cluster_lib.from_flags('', '', None, 0, _fixture(name))
    assert not cluster.has_parameter_servers and cluster.num_ps == 0
  single = cluster_lib.from_flags(
      '', '', None, 0, _fixture('vertex_ai_single_replica_chief_0'))
  assert (single.num_replicas, single.is_chief) == (1, True)
  flags = cluster_lib.from_flags('', 'a:1,b:1', 'worker', 1)
  assert flags.jobs == {'worker': ['a:1', 'b:1']}
  assert not flags.has_parameter_servers


# ---------------------------------------------------------- the evaluator
@pytest.mark.parametrize('name', ['kubeflow_tfjob_evaluator_0',
                                  'vertex_ai_evaluator_0'])
def test_training_on_an_evaluator_task_says_to_run_the_eval_script(
    monkeypatch, name):
  with pytest.raises(ValueError) as raised:
    cluster_lib.from_flags('', '', None, 0, _fixture(name))
  assert str(raised.value) == cluster_lib.EVALUATOR_TASK_MESSAGE
  assert 'eval_image_classifier.py --wait_for_checkpoints' in str(
      raised.value)
  monkeypatch.setenv('TF_CONFIG', _fixture(name))
  with pytest.raises(cli.UserError) as raised:
    train_image_classifier.resolve_deployment(
        h.flag_values('train_image_classifier'))
  assert str(raised.value) == cluster_lib.EVALUATOR_TASK_MESSAGE


def test_task_type_is_read_alone():
  assert cluster_lib.tf_config_task_type(None) is None
  assert cluster_lib.tf_config_task_type(' ') is None
  assert cluster_lib.tf_config_task_type(
      _fixture('vertex_ai_evaluator_0')) == 'evaluator'
  assert cluster_lib.tf_config_task_type(
      _fixture('ray_train_worker_0')) == 'worker'
  with pytest.raises(ValueError, match='TF_CONFIG is not valid JSON'):
    cluster_lib.tf_config_task_type('{"task": ')


def _waiting_values(tmp_path, **overrides):
  """Eval values on a training directory that does not exist yet, that
  stop waiting for a checkpoint at a timeout of a second."""
  return h.eval_values(tmp_path / 'data', tmp_path / 'eval', **dict(
      dict(checkpoint_path=str(tmp_path / 'train'), eval_timeout_secs=1,
           eval_interval_secs=0), **overrides))


def test_an_evaluator_task_waits_for_checkpoints(monkeypatch, tmp_path):
  """The evaluator starts beside the workers: no --train_dir yet, and no
  checkpoint; it waits (here: until its timeout) instead of failing."""
  monkeypatch.setenv('TF_CONFIG', _fixture('kubeflow_tfjob_evaluator_0'))
  values = _waiting_values(tmp_path)
  assert not values.wait_for_checkpoints
  assert list(eval_image_classifier.checkpoints_to_evaluate(values)) == []


def test_other_tasks_evaluate_once(monkeypatch, tmp_path):
  monkeypatch.setenv('TF_CONFIG', _fixture('ray_train_worker_0'))
  with pytest.raises(cli.UserError, match='--checkpoint_path'):
    list(eval_image_classifier.checkpoints_to_evaluate(
        _waiting_values(tmp_path)))
  monkeypatch.setenv('TF_CONFIG', '{"task": ')
  with pytest.raises(cli.UserError, match='TF_CONFIG is not valid JSON'):
    list(eval_image_classifier.checkpoints_to_evaluate(
        _waiting_values(tmp_path)))


def test_waiting_still_refuses_a_checkpoint_file(tmp_path):
  prefix = tmp_path / 'model.ckpt-3'
  (tmp_path / 'model.ckpt-3.index').write_bytes(b'')
  values = _waiting_values(tmp_path, checkpoint_path=str(prefix),
                           wait_for_checkpoints=True)
  with pytest.raises(cli.UserError, match='is not a directory'):
    list(eval_image_classifier.checkpoints_to_evaluate(values))


# ---------------------------------------------------------- ignored, named
def _with(name, **changes):
  config = json.loads(_fixture(name))
  config.update(changes)
  return json.dumps(config)


def test_unknown_fields_are_ignored():
  plain = cluster_lib.from_flags('', '', None, 0,
                                       _fixture('ray_train_worker_1'))
  task = {'type': 'worker', 'index': 1, 'trial': '7', 'future': [1]}
  noisy = _with('ray_train_worker_1', environment='google', rpc_layer='grpc',
                job='{"a": 1}', task=task, anything={'x': None})
  assert cluster_lib.from_flags('', '', None, 0, noisy) == plain


@pytest.mark.parametrize('changes, message', [
    (dict(cluster={'worker': {'1': 'w1:2222'}}),
     'TF_CONFIG cluster.worker maps task indices to addresses (a sparse '
     'cluster, as TFJob writes with enableDynamicWorker); every task needs '
     'the whole cluster: turn enableDynamicWorker off.'),
    (dict(cluster={'worker': ['w:1', 'w:2'], 'evaluator': ['e:1', 'e:2']}),
     'TF_CONFIG cluster.evaluator lists several tasks; a cluster has at most '
     'one evaluator.'),
    (dict(cluster={'worker': ['w:1', 'w:2'], 'evaluator': 'e:1'}),
     'TF_CONFIG cluster.evaluator must be a list of "host:port" strings.'),
    (dict(cluster={'master': ['m:1'], 'worker': ['w:1', 'w:2']}),
     "TF_CONFIG names the job 'master'; this script runs the jobs ps, chief, "
     'worker (an evaluator is eval_image_classifier.py '
     '--wait_for_checkpoints).'),
    (dict(task={'type': 'chief', 'index': 0}),
     "TF_CONFIG task.type='chief' is not a job of the cluster (worker)."),
    (dict(task={'index': 0}),
     "TF_CONFIG task.type=None is not a job of the cluster (worker)."),
    (dict(task={'type': 'worker', 'index': 3}),
     'task 3 is outside the worker job, which has 3 tasks (0 to 2).'),
])
def test_malformed_tf_config_is_named_in_one_line(changes, message):
  with pytest.raises(ValueError) as raised:
    cluster_lib.from_flags('', '', None, 0,
                                 _with('ray_train_worker_1', **changes))
  assert str(raised.value) == message
