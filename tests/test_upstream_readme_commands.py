"""The research/slim README's command lines are accepted as written.

The commands below are the original README's (`../shared/seeds/
slim_image_models_README.txt`, with the script names the seed's copy lost
restored, and the bazel-built TensorFlow tools replaced by ours in `tools/`).
Each is parsed by the real script's absl flags in a fresh process: an unknown
flag or a value of the wrong type fails there exactly as it would for a user.
The two export commands, which need no data, also run for real.
"""
import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tests import cli_harness

# (module, argv) as a user would type them after `python <script>.py`.
README_COMMANDS = [
    ('download_and_convert_data', [
        '--dataset_name=flowers', '--dataset_dir=/tmp/data/flowers']),
    ('train_image_classifier', [
        '--train_dir=/tmp/train_logs', '--dataset_name=imagenet',
        '--dataset_split_name=train', '--dataset_dir=/tmp/imagenet',
        '--model_name=inception_v3']),
    ('train_image_classifier', [
        '--train_dir=/tmp/flowers-models/inception_v3',
        '--dataset_dir=/tmp/flowers', '--dataset_name=flowers',
        '--dataset_split_name=train', '--model_name=inception_v3',
        '--checkpoint_path=/tmp/my_checkpoints/inception_v3.ckpt',
        '--checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits',
        '--trainable_scopes=InceptionV3/Logits,InceptionV3/AuxLogits']),
    ('eval_image_classifier', [
        '--alsologtostderr',
        '--checkpoint_path=/tmp/checkpoints/inception_v3.ckpt',
        '--dataset_dir=/tmp/imagenet', '--dataset_name=imagenet',
        '--dataset_split_name=validation', '--model_name=inception_v3']),
    ('export_inference_graph', [
        '--alsologtostderr', '--model_name=inception_v3',
        '--output_file=/tmp/inception_v3_inf_graph.pb']),
    ('export_inference_graph', [
        '--alsologtostderr', '--model_name=mobilenet_v1', '--image_size=224',
        '--output_file=/tmp/mobilenet_v1_224.pb']),
    ('tools.freeze_graph', [
        '--input_graph=/tmp/inception_v3_inf_graph.pb',
        '--input_checkpoint=/tmp/checkpoints/inception_v3.ckpt',
        '--input_binary=true', '--output_graph=/tmp/frozen_inception_v3.pb',
        '--output_node_names=InceptionV3/Predictions/Reshape_1']),
    ('tools.summarize_graph', ['--in_graph=/tmp/inception_v3_inf_graph.pb']),
    ('tools.label_image', [
        '--image=/tmp/Pictures/flowers.jpg', '--input_layer=input',
        '--output_layer=InceptionV3/Predictions/Reshape_1',
        '--graph=/tmp/frozen_inception_v3.pb',
        '--labels=/tmp/imagenet_slim_labels.txt', '--input_mean=0',
        '--input_std=255']),
]

# Parses argv with the script's flags and prints the values it set, so the
# test sees that each flag landed under its own name.
_PARSE = '''
import importlib, json, sys
from absl import flags
module, argv = sys.argv[1], sys.argv[2:]
importlib.import_module(module)
flags.FLAGS([module] + argv)
names = [a[2:].split('=')[0] for a in argv]
print(json.dumps({n: str(flags.FLAGS[n].value) for n in names}))
'''


def _parse(module, argv):
  return subprocess.run(
      [sys.executable, '-c', _PARSE, module] + argv, cwd=cli_harness.ROOT,
      capture_output=True, text=True, timeout=120,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))


@pytest.mark.parametrize('module,argv', README_COMMANDS,
                         ids=[m + str(i) for i, (m, _) in
                              enumerate(README_COMMANDS)])
def test_readme_command_line_is_accepted(module, argv):
  result = _parse(module, argv)
  assert result.returncode == 0, result.stderr[-2000:]
  values = json.loads(result.stdout.strip().splitlines()[-1])
  for arg in argv:
    name, _, typed = arg[2:].partition('=')
    assert _same_value(values[name], typed or 'True'), (name, values[name])


def _same_value(parsed, typed):
  if typed.lower() in ('true', 'false'):
    return parsed == typed.capitalize()
  try:
    return float(parsed) == float(typed)
  except ValueError:
    return parsed == typed

def test_parse_check_can_fail():
  # The harness itself: a flag the script lacks is refused.
  result = _parse('export_inference_graph', ['--no_such_flag=1'])
  assert result.returncode != 0
  assert 'no_such_flag' in result.stderr


@pytest.mark.parametrize('model_name,extra,size', [
    ('inception_v3', [], 299),
    ('mobilenet_v1', ['--image_size=224'], 224),
])
def test_readme_export_commands_run(tmp_path, model_name, extra, size):
  output = tmp_path / (model_name + '.pb')
  result = cli_harness.run_script(
      'export_inference_graph.py', '--alsologtostderr',
      '--model_name=' + model_name, *extra, '--output_file=%s' % output)
  assert result.returncode == 0, result.stderr[-2000:]
  graph_def = tf.compat.v1.GraphDef()
  graph_def.ParseFromString(output.read_bytes())
  nodes = {node.name: node for node in graph_def.node}
  shape = [d.size for d in nodes['input'].attr['shape'].shape.dim]
  assert shape == [-1, size, size, 3]
  assert any(name.endswith('Predictions/Reshape_1') for name in nodes)
