"""The graphs that train, eval, export and export_saved_model build, pinned.

Each case builds a graph the way its script does (the training and eval
builders on flag values, the export script as a process, the SavedModel's
serving graph) and compares its fingerprint (tests/graph_fingerprint.py:
every node and function, names made process-independent) with the one
recorded in tests/graph_fingerprints.json. A refactoring of the scripts
must leave every graph as it was; a change that is meant is recorded again
(`GRAPH_FINGERPRINTS_UPDATE=1 make test PYTEST_ARGS=-k graph_fingerprints`)
and named in CHANGES below with its reason.

The fingerprints depend on TensorFlow's version (its ops' attributes and
its tf.data functions): under another version than the recorded one the
cases are skipped, naming both.
"""
import json
import os

import pytest
import tensorflow as tf

from tests import cli_harness as h
from nets.registry import NETWORKS
from tests import graph_fingerprint
from tools import model_info

pytestmark = pytest.mark.slow

train_image_classifier = h.script_module('train_image_classifier')
eval_image_classifier = h.script_module('eval_image_classifier')
export_saved_model = h.script_module('tools.export_saved_model')

RECORD = os.path.join(os.path.dirname(__file__), 'graph_fingerprints.json')
UPDATE = os.environ.get('GRAPH_FINGERPRINTS_UPDATE') == '1'

# Intended graph changes since the fingerprints were first recorded:
# (graphs, reason). Empty: every graph is as first recorded.
CHANGES = []

SHAPES = dict(dataset_name='shapes')
# name: (model flags for every script, extra train flags, extra eval and
# export flags, the graphs built). Train flags add to tests/cli_harness.py's
# FAST_TRAIN (cifarnet, lenet preprocessing, batch 8, sgd).
CASES = {
    'cifarnet_float32': (
        dict(model_name='cifarnet', preprocessing_name='lenet'), {}, {},
        ('train', 'eval', 'export', 'saved_model')),
    'inception_v3_bfloat16': (
        dict(model_name='inception_v3', preprocessing_name='inception',
             precision='bfloat16'), {}, {},
        ('train', 'eval', 'export', 'saved_model')),
    'mobilenet_v1_quantized': (
        dict(model_name='mobilenet_v1', preprocessing_name='inception'),
        dict(quantize_delay=100), dict(quantize=True),
        ('train', 'eval', 'export', 'saved_model')),
    'resnet_v1_50_two_clones': (
        dict(model_name='resnet_v1_50', preprocessing_name='vgg'),
        dict(num_clones=2), {}, ('train',)),
    'cifarnet_sync_replicas_worker': (
        dict(model_name='cifarnet', preprocessing_name='lenet'),
        dict(ps_hosts='localhost:2222',
             worker_hosts='localhost:2223,localhost:2224', job_name='worker',
             task=1, sync_replicas=True, replicas_to_aggregate=2), {},
        ('train',)),
    'cifarnet_validation': (
        dict(model_name='cifarnet', preprocessing_name='lenet'),
        dict(validation_split_name='validation', validation_every_n_steps=1,
             keep_best_checkpoints=2), {}, ('train',)),
}
KEYS = [f'{case}/{graph}' for case, spec in CASES.items() for graph in spec[3]]


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'))


def _train_graph(data, tmp_path, model, train):
  values = h.train_values(data, tmp_path / 'train', **model, **train)
  with tf.Graph().as_default() as graph:
    train_image_classifier.build_training_graph(values)
  return graph.as_graph_def()


def _eval_graph(data, tmp_path, model, other):
  values = h.eval_values(data, tmp_path / 'eval', **model, **other)
  with tf.Graph().as_default() as graph:
    eval_image_classifier.build_eval_graph(values)
  return graph.as_graph_def()


def _export_graph(data, tmp_path, model, other):
  del data  # the inference graph of the default dataset (1001 classes)
  output = tmp_path / 'graph.pb'
  args = [f'--model_name={model["model_name"]}', f'--output_file={output}']
  args += [f'--precision={model["precision"]}'] if 'precision' in model else []
  args += ['--quantize'] if other.get('quantize') else []
  result = h.run_script('export_inference_graph.py', *args)
  assert result.returncode == 0, result.stderr
  graph_def = tf.compat.v1.GraphDef()
  graph_def.ParseFromString(output.read_bytes())
  return graph_def


def _saved_model_graph(data, tmp_path, model, other):
  del data, tmp_path
  network = model['model_name']
  info = model_info.ModelInfo(
      network, NETWORKS[network].default_image_size,
      model['preprocessing_name'], [f'class{i}' for i in range(5)])
  with tf.Graph().as_default() as graph:
    export_saved_model.build_serving_graph(
        info, quantize=other.get('quantize', False),
        precision=model.get('precision', 'float32'))
  return graph.as_graph_def()


BUILDERS = {'train': _train_graph, 'eval': _eval_graph,
            'export': _export_graph, 'saved_model': _saved_model_graph}


def _recorded():
  if not os.path.exists(RECORD):
    return {'tensorflow': tf.__version__, 'graphs': {}}
  with open(RECORD) as f:
    return json.load(f)


@pytest.mark.parametrize('key', KEYS)
def test_graph_is_as_recorded(key, data, tmp_path):
  recorded = _recorded()
  if recorded['tensorflow'] != tf.__version__ and not UPDATE:
    pytest.skip(f'fingerprints recorded with TensorFlow '
                f'{recorded["tensorflow"]}, this is {tf.__version__}')
  case, graph = key.split('/')
  model, train, other, _ = CASES[case]
  extra = train if graph == 'train' else other
  graph_def = BUILDERS[graph](data, tmp_path, model, extra)
  got = graph_fingerprint.fingerprint(
      graph_def, [(str(data), '<DATA>'), (str(tmp_path), '<TMP>')])
  if UPDATE:
    recorded['tensorflow'] = tf.__version__
    recorded['graphs'][key] = got
    with open(RECORD, 'w') as f:
      json.dump(recorded, f, indent=1, sort_keys=True)
      f.write('\n')
  assert recorded['graphs'].get(key) == got, (
      f'{key}: the graph changed ({got["nodes"]} nodes, '
      f'{got["functions"]} functions); if that is meant, record it again '
      'and say why in CHANGES')


def test_every_case_is_recorded():
  assert sorted(_recorded()['graphs']) == sorted(KEYS)


def test_fingerprints_do_not_depend_on_what_was_built_before(data, tmp_path):
  """The same graph built after another one (TensorFlow's per-process
  function and gradient numbering moved on) has the same fingerprint."""
  model, _, _, _ = CASES['cifarnet_float32']
  for build in (_eval_graph, _saved_model_graph):  # tf.data; a while loop
    first = build(data, tmp_path, model, {})
    _train_graph(data, tmp_path, model, {})
    again = build(data, tmp_path, model, {})
    assert first != again  # the raw GraphDefs differ ...
    assert (graph_fingerprint.fingerprint(first)  # ... the fingerprints not
            == graph_fingerprint.fingerprint(again))


def test_a_changed_graph_changes_the_fingerprint(data, tmp_path):
  model, _, _, _ = CASES['cifarnet_float32']
  plain = _eval_graph(data, tmp_path, model, {})
  other = _eval_graph(data, tmp_path, model, dict(eval_image_size=40))
  assert (graph_fingerprint.fingerprint(plain)['sha256']
          != graph_fingerprint.fingerprint(other)['sha256'])
