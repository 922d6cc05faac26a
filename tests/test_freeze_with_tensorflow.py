"""TensorFlow's own freeze_graph freezes what export_inference_graph.py
writes, with a checkpoint in the format training writes.

The original README freezes with TensorFlow's tool, not with ours:

    python -m tensorflow.python.tools.freeze_graph \\
      --input_graph=<graph.pb> --input_binary=true \\
      --input_checkpoint=<checkpoint> --output_graph=<frozen.pb> \\
      --output_node_names=CifarNet/Predictions/Reshape_1

It restores the input graph's variables with a Saver built on the graph's
tensors of the checkpoint's names, which works for reference variables
(VariableV2) only; training writes resource variables. Each test runs that
command as a process and checks the frozen graph against the checkpoint run
directly (the network built as training builds it, restored by a Saver) and
against tools/freeze_graph.py's frozen graph.
"""
import json
import os
import subprocess

import numpy as np
import tensorflow as tf

import slim
from image_classifier import network
from tests import cli_harness as h

tf1 = tf.compat.v1

freeze_graph = h.script_module('tools.freeze_graph')
train_image_classifier = h.script_module('train_image_classifier')

with open(os.path.join(h.ROOT, 'compat', 'output_nodes.json')) as _f:
  OUTPUT_NODES = json.load(_f)
_VARIABLE_OPS = ('VariableV2', 'VarHandleOp', 'ReadVariableOp')


def _export(tmp_path, model_name, *flags):
  """export_inference_graph.py's GraphDef as a process; the file. The
  flags name a dataset of h.NUM_CLASSES (5) classes: flowers or shapes."""
  graph_file = str(tmp_path / f'{model_name}_inf_graph.pb')
  result = h.run_script('export_inference_graph.py',
                        f'--model_name={model_name}', *flags,
                        f'--output_file={graph_file}')
  assert result.returncode == 0, result.stderr
  return graph_file


def _tensorflow_freeze_graph(tmp_path, graph_file, checkpoint, output_node):
  """The README's freeze_graph command, TensorFlow's tool, from another
  folder than the repository's; the frozen GraphDef."""
  frozen_file = str(tmp_path / 'frozen_by_tensorflow.pb')
  result = subprocess.run(
      [h.PYTHON, '-m', 'tensorflow.python.tools.freeze_graph',
       f'--input_graph={graph_file}', '--input_binary=true',
       f'--input_checkpoint={checkpoint}', f'--output_graph={frozen_file}',
       f'--output_node_names={output_node}'],
      cwd=tmp_path, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'),
      capture_output=True, text=True, timeout=180)
  assert result.returncode == 0, result.stderr[-3000:]
  return _read_graph_def(frozen_file)


def _read_graph_def(path):
  with open(path, 'rb') as f:
    return tf1.GraphDef.FromString(f.read())


def _ours(graph_file, checkpoint, output_node):
  return freeze_graph.freeze_graph_def(_read_graph_def(graph_file),
                                       checkpoint, [output_node])


def _run_frozen(graph_def, images, outputs):
  with tf.Graph().as_default() as graph:
    tf1.import_graph_def(graph_def, name='')
    with tf1.Session(graph=graph) as sess:
      return sess.run([name + ':0' for name in outputs], {'input:0': images})


def _run_checkpoint(model_name, checkpoint, images, outputs, **kwargs):
  """The network as training builds it (resource variables), restored from
  `checkpoint` by a Saver: the values of the `outputs` nodes."""
  with tf.Graph().as_default() as graph:
    placeholder, _, _ = network.build_inference_graph(
        model_name, h.NUM_CLASSES, image_size=images.shape[1], **kwargs)
    with tf1.Session() as sess:
      tf1.train.Saver().restore(sess, checkpoint)
      return sess.run([graph.get_tensor_by_name(name + ':0')
                       for name in outputs], {placeholder: images})


def _images(size, count=4):
  return np.random.default_rng(0).uniform(
      -1, 1, [count, size, size, 3]).astype(np.float32)


def _variable_ops(graph_def):
  return sorted({n.op for n in graph_def.node if n.op in _VARIABLE_OPS})


def _assert_all_agree(expected, *others, atol=1e-6):
  for other in others:
    for want, got in zip(expected, other):
      np.testing.assert_allclose(got, want, rtol=1e-5, atol=atol)


def _save_random_checkpoint(model_name, image_size, directory, seed=0):
  """A checkpoint of `model_name` (5 classes) as training writes one
  (resource variables, a global step) with random weights, and random
  moving statistics far from their initial 0 and 1; its prefix."""
  rng = np.random.default_rng(seed)
  with tf.Graph().as_default():
    global_step = slim.get_or_create_global_step()
    network.build_inference_graph(model_name, h.NUM_CLASSES,
                                  image_size=image_size)
    with tf1.Session() as sess:
      for variable in slim.get_model_variables():
        shape = variable.shape.as_list()
        name = variable.op.name
        if name.endswith(('moving_variance', 'gamma')):
          value = rng.uniform(0.5, 2.0, shape)
        elif name.endswith(('moving_mean', 'beta')):
          value = rng.normal(0, 0.5, shape)
        else:
          fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
          value = rng.normal(0, 1.5 / np.sqrt(fan_in), shape)
        variable.load(value, sess)
      global_step.load(7, sess)
      return tf1.train.Saver().save(
          sess, os.path.join(str(directory), 'model.ckpt'), global_step=7)


def test_cifarnet_freezes_with_tensorflow_freeze_graph(random_cifarnet,
                                                       tmp_path):
  nodes = OUTPUT_NODES['cifarnet']
  graph_file = _export(tmp_path, 'cifarnet', '--dataset_name=flowers')
  # Reference variables, as the original's graphs held.
  assert _variable_ops(_read_graph_def(graph_file)) == ['VariableV2']
  frozen = _tensorflow_freeze_graph(tmp_path, graph_file, random_cifarnet,
                                    nodes['predictions'])
  assert _variable_ops(frozen) == []
  images = _images(32)
  outputs = [nodes['predictions']]
  expected = _run_checkpoint('cifarnet', random_cifarnet, images, outputs)
  # The comparison means something only if the classes differ clearly.
  assert np.ptp(expected[0], axis=1).min() > 0.05
  _assert_all_agree(
      expected, _run_frozen(frozen, images, outputs),
      _run_frozen(_ours(graph_file, random_cifarnet, outputs[0]), images,
                  outputs))


def test_mobilenet_v1_moving_statistics_are_frozen(tmp_path):
  nodes = OUTPUT_NODES['mobilenet_v1']
  size = 32
  checkpoint = _save_random_checkpoint('mobilenet_v1', size, tmp_path)
  graph_file = _export(tmp_path, 'mobilenet_v1', f'--image_size={size}',
                       '--dataset_name=flowers')
  frozen = _tensorflow_freeze_graph(tmp_path, graph_file, checkpoint,
                                    nodes['predictions'])
  assert _variable_ops(frozen) == []
  reader = tf.train.load_checkpoint(checkpoint)
  constants = {n.name: n for n in frozen.node if n.op == 'Const'}
  for name in ('MobilenetV1/Conv2d_0/BatchNorm/moving_mean',
               'MobilenetV1/Conv2d_13_pointwise/BatchNorm/moving_variance'):
    np.testing.assert_array_equal(
        tf.make_ndarray(constants[name].attr['value'].tensor),
        reader.get_tensor(name))
  images = _images(size)
  outputs = [nodes['logits'], nodes['predictions']]
  expected = _run_checkpoint('mobilenet_v1', checkpoint, images, outputs)
  assert np.all(np.isfinite(expected[0]))
  assert np.ptp(expected[0], axis=1).min() > 0.1
  _assert_all_agree(
      expected, _run_frozen(frozen, images, outputs),
      _run_frozen(_ours(graph_file, checkpoint, nodes['predictions']), images,
                  outputs))


def test_quantized_training_checkpoint_freezes(tmp_path):
  """A --quantize export with the checkpoint of a quantization-aware run
  that holds more than the graph: a global step, momentum slots and the
  ranges' moving-average state."""
  nodes = OUTPUT_NODES['cifarnet']
  data = h.make_shapes(tmp_path / 'shapes', train=16, validation=8)
  train_dir = tmp_path / 'train'
  train_image_classifier.train(h.train_values(
      data, train_dir, quantize_delay=0, optimizer='momentum',
      max_number_of_steps=3, log_every_n_steps=10))
  checkpoint = tf.train.latest_checkpoint(str(train_dir))
  names = {name for name, _ in tf.train.list_variables(checkpoint)}
  assert 'CifarNet/conv1/weights/Momentum' in names
  assert 'CifarNet/conv1/act_quant/max' in names
  graph_file = _export(tmp_path, 'cifarnet', '--quantize',
                       '--dataset_name=shapes', f'--dataset_dir={data}')
  frozen = _tensorflow_freeze_graph(tmp_path, graph_file, checkpoint,
                                    nodes['predictions'])
  assert _variable_ops(frozen) == []
  assert any(n.op.startswith('FakeQuant') for n in frozen.node)
  images = _images(32)
  outputs = [nodes['logits'], nodes['predictions']]
  expected = _run_checkpoint('cifarnet', checkpoint, images, outputs,
                             quantize=True)
  # A value that lands on a fake-quant rounding boundary can round one
  # 8-bit step the other way once the weights are constants (a different
  # float summation order): one step moved a logit by 3e-4 in a fresh-clone
  # run. Wrong or missing weights move logits by far more than 1e-3.
  _assert_all_agree(
      expected, _run_frozen(frozen, images, outputs),
      _run_frozen(_ours(graph_file, checkpoint, nodes['predictions']), images,
                  outputs), atol=1e-3)
