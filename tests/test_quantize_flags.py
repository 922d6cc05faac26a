"""Quantization-aware training through the scripts: train_image_classifier
--quantize_delay, eval_image_classifier --quantize, export_inference_graph
--quantize (slim/quantize.py does the rewrite; tests/slim/test_quantize.py
checks it).
"""
import pytest
import tensorflow as tf

from image_classifier import cli
from tests import cli_harness as h
from tests.cifarnet_checkpoints import FLOAT_RUN

tf1 = tf.compat.v1

train_image_classifier = h.script_module('train_image_classifier')
eval_image_classifier = h.script_module('eval_image_classifier')
export_inference_graph = h.script_module('export_inference_graph')

CIFARNET_LAYERS = ('conv1', 'conv2', 'fc3', 'fc4', 'logits')


# Its own, larger validation split than the shared trained_cifarnet's: the
# 2-point check below is 4 images here, not 2.
@pytest.fixture(scope='module')
def data(tmp_path_factory):
  return h.make_shapes(tmp_path_factory.mktemp('shapes'), train=1000,
                       validation=200)


def _quant_names(checkpoint):
  return {name for name in h.read_checkpoint(checkpoint)
          if '_quant/' in name}


def test_qat_run_evaluates_within_2_points_of_float(data, tmp_path):
  """The recipe of the published *_quant checkpoints: a float run, then
  quantization-aware fine-tuning from it, evaluated with --quantize.

  (Two runs trained from scratch, one with a delay, differ by more than
  2 points on 200 images before they converge, quantization or not.)
  """
  float_dir, qat_dir = str(tmp_path / 'float'), str(tmp_path / 'qat')
  train_image_classifier.train(h.train_values(data, float_dir, **FLOAT_RUN))
  train_image_classifier.train(h.train_values(
      data, qat_dir, quantize_delay=0, checkpoint_path=float_dir,
      max_number_of_steps=10, learning_rate=0.0003, seed=1))
  float_result = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'eval_float'),
      tf.train.latest_checkpoint(float_dir))
  qat_result = eval_image_classifier.evaluate(
      h.eval_values(data, tmp_path / 'eval_qat', quantize=True),
      tf.train.latest_checkpoint(qat_dir))
  print(f'float {float_result["Accuracy"]:.3f}, '
        f'QAT --quantize {qat_result["Accuracy"]:.3f}')
  assert float_result['Accuracy'] > 0.6
  assert abs(qat_result['Accuracy'] - float_result['Accuracy']) <= 0.02
  # The QAT checkpoint: the float one plus the ranges.
  qat_names = set(h.read_checkpoint(tf.train.latest_checkpoint(qat_dir)))
  names = _quant_names(tf.train.latest_checkpoint(qat_dir))
  assert {f'CifarNet/{layer}/{kind}/{m}' for layer in CIFARNET_LAYERS
          for kind in ('weights_quant', 'act_quant')
          for m in ('min', 'max')} <= names
  float_names = set(h.read_checkpoint(tf.train.latest_checkpoint(float_dir)))
  model = {name for name in float_names
           if name.startswith('CifarNet/') and '/Adam' not in name}
  assert {name for name in qat_names - names
          if name.startswith('CifarNet/')} == model


def test_clones_share_one_set_of_ranges(data, tmp_path):
  train_dir = str(tmp_path / 'train')
  train_image_classifier.train(h.train_values(
      data, train_dir, num_clones=2, clone_on_cpu=True, quantize_delay=0))
  names = _quant_names(tf.train.latest_checkpoint(train_dir))
  assert 'CifarNet/conv1/act_quant/min' in names
  assert not [name for name in names if name.startswith('clone_')]


def test_eval_quantize_needs_a_qat_checkpoint(data, tmp_path):
  train_dir = str(tmp_path / 'train')
  train_image_classifier.train(h.train_values(data, train_dir))
  with pytest.raises(cli.UserError) as info:
    eval_image_classifier.evaluate(
        h.eval_values(data, tmp_path / 'eval', quantize=True),
        tf.train.latest_checkpoint(train_dir))
  message = str(info.value)
  assert 'CifarNet/conv1/act_quant/max' in message
  assert message.endswith('--quantize needs a checkpoint trained with '
                          'train_image_classifier.py --quantize_delay.')


def test_export_quantize_writes_the_eval_graph(tmp_path):
  output = tmp_path / 'graph.pb'
  result = h.run_script('export_inference_graph.py', '--model_name=lenet',
                        '--dataset_name=mnist', '--quantize',
                        f'--output_file={output}')
  assert result.returncode == 0, result.stderr
  graph_def = tf1.GraphDef.FromString(output.read_bytes())
  nodes = {node.name: node.op for node in graph_def.node}
  assert nodes['LeNet/conv1/weights_quant/FakeQuantWithMinMaxVars'] == \
      'FakeQuantWithMinMaxVars'
  # A reference variable, as every variable of an exported graph.
  assert nodes['LeNet/conv1/weights_quant/min'] == 'VariableV2'
  assert 'Predictions/Reshape_1' in nodes
  # An eval graph: the ranges are read, never assigned.
  assert not [name for name in nodes if 'AssignMinEma' in name
              or 'AssignMinLast' in name]


def test_export_quantize_names_the_layer_it_cannot_handle(tmp_path):
  result = h.run_script('export_inference_graph.py', '--model_name=i3d',
                        '--num_frames=4', '--image_size=32',
                        '--dataset_name=mnist', '--quantize',
                        f'--output_file={tmp_path / "graph.pb"}')
  assert result.returncode == 2
  line = h.user_error(result, 'export_inference_graph.py')
  assert line.startswith('--quantize: --model_name=i3d cannot be quantized: '
                         'layer InceptionV1/Conv2d_1a_7x7 is a Conv3D')
