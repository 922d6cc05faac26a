"""export_inference_graph.py and the tools: freeze_graph, label_image,
summarize_graph, dump_images, and the flags used by scripts/demo_shapes.sh.

The frozen graph must give the checkpointed graph's probabilities, and
label_image must print the labels of the highest probabilities the frozen
graph gives on the same image, computed here independently.
"""
import io
import json
import os
import re
import subprocess

import numpy as np
from PIL import Image
import pytest
import tensorflow as tf
from google.protobuf import text_format

import slim
from datasets import dataset_factory
from tests import cli_harness as h

tf1 = tf.compat.v1

export_inference_graph = h.script_module('export_inference_graph')
freeze_graph = h.script_module('tools.freeze_graph')
label_image = h.script_module('tools.label_image')
summarize_graph = h.script_module('tools.summarize_graph')
dump_images = h.script_module('tools.dump_images')

with open(os.path.join(h.ROOT, 'compat', 'output_nodes.json')) as _f:
  OUTPUT_NODES = json.load(_f)
PREDICTIONS = OUTPUT_NODES['cifarnet']['predictions']
# CifarNet's parameters for 5 classes, layer by layer (weights + biases):
# conv1 5*5*3*64 + 64, conv2 5*5*64*64 + 64, fc3 (8*8*64)*384 + 384,
# fc4 384*192 + 192, logits 192*5 + 5.
CIFARNET_5_PARAMETERS = (4800 + 64) + (102400 + 64) + (1572864 + 384) + (
    73728 + 192) + (960 + 5)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'), train=10,
                       validation=10)


@pytest.fixture(scope='module')
def checkpoint(random_cifarnet):
  """A CifarNet (5 classes) checkpoint with weights large enough that the
  probabilities differ clearly between classes (tests/conftest.py)."""
  return random_cifarnet


def _inference_graph_def(model_name='cifarnet', num_classes=h.NUM_CLASSES):
  with tf.Graph().as_default() as graph:
    export_inference_graph.build_inference_graph(model_name, num_classes)
    return graph.as_graph_def()


def _checkpoint_probabilities(prefix, images):
  """Probabilities of the graph with its variables restored by a Saver."""
  with tf.Graph().as_default():
    placeholder, _, end_points = export_inference_graph.build_inference_graph(
        'cifarnet', h.NUM_CLASSES)
    with tf1.Session() as sess:
      tf1.train.Saver(slim.get_model_variables()).restore(sess, prefix)
      return sess.run(end_points['Predictions'], {placeholder: images})


def _run_graph_def(graph_def, images, output=PREDICTIONS):
  with tf.Graph().as_default() as graph:
    tf1.import_graph_def(graph_def, name='')
    with tf1.Session(graph=graph) as sess:
      return sess.run(output + ':0', {'input:0': images})


# ------------------------------------------------------------------- export
@pytest.mark.parametrize('model_name,size', [('cifarnet', 32), ('lenet', 28)])
def test_inference_graph_has_the_original_node_names(model_name, size):
  with tf.Graph().as_default() as graph:
    placeholder, logits, end_points = (
        export_inference_graph.build_inference_graph(model_name, 10))
    names = {node.name for node in graph.as_graph_def().node}
  nodes = OUTPUT_NODES[model_name]
  for key in ('input', 'logits', 'predictions'):
    assert nodes[key] in names, (key, nodes[key])
  assert placeholder.op.name == nodes['input'] == 'input'
  assert placeholder.shape.as_list() == [None, size, size, 3]
  assert logits.op.name == nodes['logits']
  assert end_points[nodes['predictions_key']].op.name == nodes['predictions']
  assert logits.shape.as_list() == [None, 10]


@pytest.mark.parametrize('dataset_name,num_classes', [
    ('cifar10', 10), ('mnist', 10), ('flowers', 5), ('imagenet', 1001)])
def test_class_counts_need_no_dataset_files(dataset_name, num_classes,
                                            tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)  # An empty folder; nothing to read there.
  assert export_inference_graph.dataset_num_classes(dataset_name, '') == (
      num_classes)


def test_shapes_class_count_comes_from_dataset_dir(data):
  assert export_inference_graph.dataset_num_classes('shapes', data) == 5
  with pytest.raises(ValueError, match='--dataset_dir'):
    export_inference_graph.dataset_num_classes('shapes', '')


def test_cli_writes_text_graphdef_without_dataset_files(tmp_path):
  output = tmp_path / 'lenet.pbtxt'
  result = h.run_script('export_inference_graph.py', '--model_name=lenet',
                        '--dataset_name=mnist', '--write_text_graphdef=true',
                        '--batch_size=2', f'--output_file={output}')
  assert result.returncode == 0, result.stderr
  assert 'Traceback' not in result.stderr
  graph_def = text_format.Parse(output.read_text(), tf1.GraphDef())
  names = {node.name for node in graph_def.node}
  for key in ('input', 'logits', 'predictions'):
    assert OUTPUT_NODES['lenet'][key] in names
  with tf.Graph().as_default() as graph:
    tf1.import_graph_def(graph_def, name='')
    assert graph.get_tensor_by_name('input:0').shape.as_list() == [
        2, 28, 28, 3]
    assert graph.get_tensor_by_name(
        OUTPUT_NODES['lenet']['logits'] + ':0').shape.as_list() == [2, 10]


# ------------------------------------------------------------------- freeze
def test_frozen_graph_gives_the_checkpoint_probabilities(checkpoint):
  images = np.random.default_rng(0).uniform(-1, 1, [4, 32, 32, 3]).astype(
      np.float32)
  expected = _checkpoint_probabilities(checkpoint, images)
  # The test means something only if the classes differ clearly.
  assert np.ptp(expected, axis=1).min() > 0.05
  frozen = freeze_graph.freeze_graph_def(_inference_graph_def(), checkpoint,
                                         [PREDICTIONS])
  assert not [n.name for n in frozen.node
              if n.op in ('VariableV2', 'VarHandleOp', 'ReadVariableOp')]
  np.testing.assert_allclose(_run_graph_def(frozen, images), expected,
                             rtol=1e-5, atol=1e-6)


def test_freeze_rejects_unknown_output_nodes(checkpoint):
  with pytest.raises(ValueError, match='CifarNet/Nope'):
    freeze_graph.freeze_graph_def(_inference_graph_def(), checkpoint,
                                  ['CifarNet/Nope'])


def test_freeze_rejects_a_checkpoint_of_another_class_count(checkpoint):
  # The checkpoint has 5 classes; the graph 10.
  with pytest.raises(ValueError, match='CifarNet/logits/weights'):
    freeze_graph.freeze_graph_def(_inference_graph_def(num_classes=10),
                                  checkpoint, [PREDICTIONS])


# ---------------------------------------------------------------- summarize
def test_summarize_counts_the_variables_parameters(checkpoint):
  graph_def = _inference_graph_def()
  summary = summarize_graph.summarize(graph_def)
  assert summary['inputs'] == [('input', 'float32', [-1, 32, 32, 3])]
  assert PREDICTIONS in [name for name, _ in summary['outputs']]
  assert summary['variable_parameters'] == CIFARNET_5_PARAMETERS
  with tf.Graph().as_default():
    export_inference_graph.build_inference_graph('cifarnet', h.NUM_CLASSES)
    assert CIFARNET_5_PARAMETERS == sum(
        int(np.prod(v.shape.as_list())) for v in tf1.global_variables())
  frozen = freeze_graph.freeze_graph_def(graph_def, checkpoint, [PREDICTIONS])
  frozen_summary = summarize_graph.summarize(frozen)
  assert frozen_summary['variables'] == []
  assert frozen_summary['const_parameters'] == CIFARNET_5_PARAMETERS
  assert [name for name, _ in frozen_summary['outputs']] == [PREDICTIONS]


# ------------------------------------------------------ the CLI pipeline
def test_cli_export_freeze_summarize_label_image(data, checkpoint, tmp_path):
  """The demo's last steps as real processes, checked against numbers
  computed here; their logs are quiet (freeze_graph calls functions
  TensorFlow deprecates)."""
  graph_file = str(tmp_path / 'cifarnet_inf_graph.pb')
  frozen_file = str(tmp_path / 'frozen_cifarnet.pb')
  result = h.run_script('export_inference_graph.py', '--model_name=cifarnet',
                        '--dataset_name=shapes', f'--dataset_dir={data}',
                        f'--output_file={graph_file}')
  assert result.returncode == 0, result.stderr
  h.assert_quiet_logs(result.stderr)
  graph_def = tf1.GraphDef.FromString(open(graph_file, 'rb').read())
  assert PREDICTIONS in {n.name for n in graph_def.node}

  result = h.run_script(
      'tools/freeze_graph.py', f'--input_graph={graph_file}',
      '--input_binary=true',
      f'--input_checkpoint={os.path.dirname(checkpoint)}',
      f'--output_graph={frozen_file}', f'--output_node_names={PREDICTIONS}')
  assert result.returncode == 0, result.stderr
  h.assert_quiet_logs(result.stderr)
  frozen = tf1.GraphDef.FromString(open(frozen_file, 'rb').read())

  result = h.run_script('tools/summarize_graph.py',
                        f'--in_graph={frozen_file}')
  assert result.returncode == 0, result.stderr
  h.assert_quiet_logs(result.stderr)
  assert ('Found 1 possible inputs: (name=input, type=float32, '
          'shape=[-1,32,32,3])') in result.stdout
  assert f'(name={PREDICTIONS}, op=Reshape)' in result.stdout
  assert f'{CIFARNET_5_PARAMETERS:,} const parameters' in result.stdout

  # A validation image as a PNG file, through tools/dump_images.
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('shapes', 'validation', data)
    paths = dump_images.dump_images(dataset, 2, str(tmp_path))
  assert [os.path.basename(p)[:6] for p in paths] == ['00000_', '00001_']
  first_shard = sorted(tf.io.gfile.glob(os.path.join(
      data, 'shapes_validation_*.tfrecord')))[0]
  record = next(tf1.io.tf_record_iterator(first_shard))
  feature = tf.train.Example.FromString(record).features.feature
  pixels = np.asarray(Image.open(io.BytesIO(
      feature['image/encoded'].bytes_list.value[0])).convert('RGB'))
  names = ['circle', 'square', 'triangle', 'cross', 'diamond']
  label = feature['image/class/label'].int64_list.value[0]
  assert paths[0].endswith(f'00000_{names[label]}.png')
  np.testing.assert_array_equal(np.asarray(Image.open(paths[0])), pixels)

  result = h.run_script(
      'tools/label_image.py', f'--graph={frozen_file}',
      f'--labels={os.path.join(data, "labels.txt")}', f'--image={paths[0]}',
      '--input_layer=input', f'--output_layer={PREDICTIONS}',
      '--input_mean=128', '--input_std=128')  # 32x32 from the graph.
  assert result.returncode == 0, result.stderr
  h.assert_quiet_logs(result.stderr)
  probabilities = _run_graph_def(
      frozen, ((pixels.astype(np.float32) - 128) / 128)[None])[0]
  order = np.argsort(-probabilities)
  expected = [f'{names[i]} {probabilities[i]:.5f}' for i in order[:5]]
  assert result.stdout.strip().splitlines() == expected


def test_label_image_takes_the_graph_input_size_unless_given():
  graph_def = _inference_graph_def()  # input [None, 32, 32, 3]
  assert label_image.input_size(graph_def, 'input') == (32, 32)
  assert label_image.input_size(graph_def, 'input', 40, None) == (40, 32)
  with tf.Graph().as_default() as graph:
    tf1.placeholder(tf.float32, [None, None, None, 3], name='input')
    dynamic = graph.as_graph_def()
  assert label_image.input_size(dynamic, 'input') == (299, 299)


def test_label_image_errors_are_one_line(tmp_path):
  # The image is checked first (before TensorFlow loads), then the graph.
  result = h.run_script('tools/label_image.py',
                        f'--graph={tmp_path / "missing.pb"}',
                        f'--image={tmp_path / "missing.png"}')
  assert 'missing.png does not exist' in h.user_error(result,
                                                      'label_image.py')
  Image.new('RGB', (4, 4)).save(tmp_path / 'image.png')
  result = h.run_script('tools/label_image.py',
                        f'--graph={tmp_path / "missing.pb"}',
                        f'--image={tmp_path / "image.png"}')
  assert 'missing.pb' in h.user_error(result, 'label_image.py')


# ------------------------------------------------------------- demo script
@pytest.mark.parametrize('recipe', sorted(
    name for name in os.listdir(os.path.join(h.ROOT, 'scripts'))
    if name.endswith('.sh')))
def test_script_recipes_use_only_defined_flags(recipe):
  path = os.path.join(h.ROOT, 'scripts', recipe)
  subprocess.run(['bash', '-n', path], check=True)
  text = open(path).read().replace('\\\n', ' ')
  commands = re.findall(r'\$PY ([\w/]+)\.py([^\n|]*)', text)
  assert commands, recipe
  if recipe == 'demo_shapes.sh':
    assert {c[0] for c in commands} >= {
        'download_and_convert_data', 'train_image_classifier',
        'eval_image_classifier', 'export_inference_graph',
        'tools/freeze_graph', 'tools/dump_images', 'tools/label_image'}
  for script, args in commands:
    defined = set(vars(h.flag_values(script.replace('/', '.'))))
    used = set(re.findall(r'--(\w+)=', args))
    assert used <= defined, (script, used - defined)
