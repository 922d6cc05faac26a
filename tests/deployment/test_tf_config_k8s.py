"""deployment/k8s/: the example manifest reads as Kubernetes would read it,
its parts agree with each other, and the TF_CONFIG its pods build is the
one the toolkit accepts.

The project has no YAML library, so the manifest keeps to a small part of
YAML (block mappings and sequences, plain and quoted scalars, comments),
which `read_yaml` reads and refuses anything beyond; it gives the same
documents as PyYAML's safe_load_all on this manifest.
"""
import json
import os
import re
import subprocess

import pytest

from deployment import cluster as cluster_lib
from tests import cli_harness as h

K8S = os.path.join(h.ROOT, 'deployment', 'k8s')
MANIFEST = os.path.join(K8S, 'train-indexed-job.yaml')
SCRIPT = 'deployment/k8s/tf_config_from_index.sh'
FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'tf_config',
                       'k8s_indexed_job_worker_1.json')


# ------------------------------------------------------ a small YAML reader
def _scalar(text):
  """A plain or quoted YAML scalar; ValueError outside the subset."""
  if text.startswith('"'):
    return json.loads(text)
  if text.startswith("'"):
    if not text.endswith("'") or len(text) < 2:
      raise ValueError(f'unterminated quote: {text}')
    return text[1:-1].replace("''", "'")
  if text[:1] in '[{|>&*!%@`':
    raise ValueError(f'outside the YAML subset: {text}')
  if re.fullmatch(r'-?\d+', text):
    return int(text)
  return {'true': True, 'false': False, 'null': None, '~': None}.get(text,
                                                                     text)


def _lines(document):
  """(indent, text) of each line that is not blank or a comment."""
  found = []
  for line in document.splitlines():
    if '\t' in line:
      raise ValueError(f'a tab: {line!r}')
    text = line.strip()
    if text and not text.startswith('#'):
      found.append((len(line) - len(line.lstrip(' ')), text))
  return found


def _block(lines, start, indent):
  """(value, next line) of the block whose lines start at `indent`."""
  if lines[start][1].startswith('-'):
    return _sequence(lines, start, indent)
  return _mapping(lines, start, indent)


def _value_after(lines, i, indent, rest):
  """The value of `key: rest` (or `- rest`) on line i-1: inline or the
  block below (a sequence may sit at the key's own indent)."""
  if rest:
    return _scalar(rest), i
  if i < len(lines) and (lines[i][0] > indent or (
      lines[i][0] == indent and lines[i][1].startswith('- '))):
    return _block(lines, i, lines[i][0])
  return None, i


def _mapping(lines, i, indent):
  result = {}
  while i < len(lines) and lines[i][0] == indent and not lines[i][
      1].startswith('- '):
    key, sep, rest = lines[i][1].partition(':')
    if not sep or (rest and not rest.startswith(' ')) or key in result:
      raise ValueError(f'not a new "key: value": {lines[i][1]}')
    result[key], i = _value_after(lines, i + 1, indent, rest.strip())
  return result, i


def _sequence(lines, i, indent):
  result = []
  while i < len(lines) and lines[i][0] == indent and (
      lines[i][1] == '-' or lines[i][1].startswith('- ')):
    rest = lines[i][1][1:].strip()
    if re.match(r'^[\w.-]+:( |$)', rest):
      # "- key: value": a mapping whose keys sit two columns in.
      lines[i] = (indent + 2, rest)
      value, i = _mapping(lines, i, indent + 2)
    else:
      value, i = _value_after(lines, i + 1, indent, rest)
    result.append(value)
  return result, i


def read_yaml(text):
  """The documents of `text`, in the YAML subset above."""
  documents = []
  for document in re.split(r'^---$', text, flags=re.MULTILINE):
    lines = _lines(document)
    if not lines:
      continue
    value, end = _block(lines, 0, lines[0][0])
    if end != len(lines):
      raise ValueError(f'cannot read: {lines[end][1]}')
    documents.append(value)
  return documents


def test_the_reader_reads_the_subset_and_refuses_the_rest():
  text = ('# c\n---\na: 1\nb:\n- x\n- "y: z"\n- k: v\n  n: \'it\'\'s\'\n'
          'c:\n  d: true\n---\n- 2\n')
  assert read_yaml(text) == [
      {'a': 1, 'b': ['x', 'y: z', {'k': 'v', 'n': "it's"}], 'c': {'d': True}},
      [2]]
  for bad in ('a: [1, 2]\n', 'a: |\n  x\n', 'a: 1\na: 2\n', 'a:1\n'):
    with pytest.raises(ValueError):
      read_yaml(bad)


# ------------------------------------------------------------- the manifest
@pytest.fixture(scope='module')
def manifest():
  with open(MANIFEST, encoding='utf-8') as f:
    documents = read_yaml(f.read())
  return {(d['kind'], d['metadata']['name']): d for d in documents}


def _job(manifest, name):
  return manifest['Job', name]['spec']


def _container(job):
  containers = job['template']['spec']['containers']
  assert len(containers) == 1
  return containers[0]


def _env(container):
  return {e['name']: e['value'] for e in container['env']}


def _flags(argv):
  """{flag: value} of the --flag=value / --flag arguments in `argv`."""
  flags = {}
  for arg in argv:
    if arg.startswith('--'):
      name, sep, value = arg[2:].partition('=')
      flags[name] = value if sep else True
  return flags


def test_manifest_holds_a_headless_service_and_two_jobs(manifest):
  assert sorted(manifest) == [('Job', 'image-classifier-eval'),
                              ('Job', 'image-classifier-train'),
                              ('Service', 'image-classifier')]
  for document in manifest.values():
    assert document['apiVersion'] in ('v1', 'batch/v1')


def test_worker_names_resolve_to_the_jobs_pods(manifest):
  """The names the script builds are the DNS names Kubernetes gives: the
  Service is headless and selects the Job's pods, whose subdomain it is."""
  service = manifest['Service', 'image-classifier']['spec']
  train = _job(manifest, 'image-classifier-train')
  env = _env(_container(train))
  assert service['clusterIP'] == 'None'
  assert service['selector'] == {'job-name': 'image-classifier-train'}
  assert train['template']['spec']['subdomain'] == 'image-classifier'
  assert env['JOB_NAME'] == 'image-classifier-train'
  assert env['SERVICE_NAME'] == 'image-classifier'
  assert train['completionMode'] == 'Indexed'
  assert train['completions'] == train['parallelism'] == int(
      env['NUM_WORKERS'])
  assert [p['port'] for p in service['ports']] == [int(env['PORT'])]
  assert [p['containerPort'] for p in _container(train)['ports']] == [
      int(env['PORT'])]


def test_jobs_run_the_scripts_with_their_flags(manifest):
  train = _container(_job(manifest, 'image-classifier-train'))
  evaluator = _container(_job(manifest, 'image-classifier-eval'))
  assert train['command'] == ['sh', SCRIPT]
  assert train['args'][:2] == ['python', 'train_image_classifier.py']
  assert evaluator['command'][:2] == ['python', 'eval_image_classifier.py']
  train_flags = _flags(train['args'])
  eval_flags = _flags(evaluator['command'])
  h.flag_values('train_image_classifier', **train_flags)  # all defined
  h.flag_values('eval_image_classifier', **eval_flags)
  # Both see the same storage; the evaluator follows the training.
  assert eval_flags['checkpoint_path'] == train_flags['train_dir']
  assert eval_flags['dataset_dir'] == train_flags['dataset_dir']
  assert train_flags['train_dir'].startswith('gs://')
  assert eval_flags['wait_for_checkpoints'] is True


# --------------------------------------------------- the TF_CONFIG it builds
def _run_script(env, *command):
  return subprocess.run(['sh', os.path.join(h.ROOT, SCRIPT)] + list(command),
                        env=env, capture_output=True, text=True, timeout=30)


def test_pods_tf_config_is_the_fixture_and_accepted(manifest):
  train = _container(_job(manifest, 'image-classifier-train'))
  env = dict(_env(train), PATH=os.environ['PATH'], JOB_COMPLETION_INDEX='1')
  result = _run_script(env, 'sh', '-c', 'printf %s "$TF_CONFIG"')
  assert result.returncode == 0, result.stderr
  tf_config = json.loads(result.stdout)
  with open(FIXTURE, encoding='utf-8') as f:
    assert tf_config == json.load(f)
  cluster = cluster_lib.from_flags('', '', None, 0, result.stdout)
  num_workers = int(env['NUM_WORKERS'])
  assert cluster.jobs == {'worker': [
      f'image-classifier-train-{i}.image-classifier:{env["PORT"]}'
      for i in range(num_workers)]}
  assert (cluster.job_name, cluster.task, cluster.replica_id) == (
      'worker', 1, 1)
  assert cluster.num_replicas == num_workers
  assert not cluster.has_parameter_servers and not cluster.is_chief


def test_pod_zero_is_the_chief():
  env = dict(PATH=os.environ['PATH'], JOB_COMPLETION_INDEX='0',
             JOB_NAME='t', SERVICE_NAME='s', NUM_WORKERS='3')
  result = _run_script(env, 'sh', '-c', 'printf %s "$TF_CONFIG"')
  cluster = cluster_lib.from_flags('', '', None, 0, result.stdout)
  assert cluster.jobs == {'worker': ['t-0.s:2222', 't-1.s:2222',
                                     't-2.s:2222']}
  assert cluster.is_chief


@pytest.mark.parametrize('env, message', [
    (dict(JOB_NAME='t', SERVICE_NAME='s', NUM_WORKERS='2'),
     'JOB_COMPLETION_INDEX: is not set: run this in a pod of a Job with '
     'completionMode: Indexed'),
    (dict(JOB_COMPLETION_INDEX='2', JOB_NAME='t', SERVICE_NAME='s',
          NUM_WORKERS='2'), 'JOB_COMPLETION_INDEX=2 is not below '
     'NUM_WORKERS=2'),
    (dict(JOB_COMPLETION_INDEX='0', JOB_NAME='t', SERVICE_NAME='s',
          NUM_WORKERS='two'), "must be numbers; got 'two'"),
])
def test_script_names_what_is_missing_in_one_line(env, message):
  result = _run_script(dict(env, PATH=os.environ['PATH']), 'true')
  assert result.returncode == 2
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert message in result.stderr
