"""Writes efficientnet_v2_manifest.json and efficientnet_v2_output_nodes.json.

No original slim implementation of EfficientNetV2 exists, so the manifest
is derived from its Keras twin: every weight of
keras.applications.EfficientNetV2<X> (built for 1001 classes, as the
manifest's other entries are) goes through our Keras layer map
(tools/keras_maps/efficientnet_v2.py) to our variable name, with Keras'
shape (a Dense kernel [in, out] becomes our 1x1 logits convolution's
[1, 1, in, out]) and Keras' trainable flag. Our network is not consulted for
the variables; only the end points and the output node names are read from
our graph (built like tests/nets/test_nets_contract.py builds it).

    .venv/bin/python tests/nets/modern_manifests/make_efficientnet_v2_manifest.py

takes a few minutes on 2 cores (Keras builds EfficientNetV2-L's 79 blocks).
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path[:0] = [ROOT, os.path.join(ROOT, 'compat')]
os.environ.setdefault('KERAS_BACKEND', 'tensorflow')

import keras  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top

from nets import nets_factory  # pylint: disable=g-import-not-at-top
from tools.keras_maps import efficientnet_v2 as keras_map  # pylint: disable=g-import-not-at-top
from tools.keras_maps import records  # pylint: disable=g-import-not-at-top

tf1 = tf.compat.v1

# The manifests live in the compatibility spec; this generator imports
# Keras, which only tests may.
FOLDER = os.path.join(ROOT, 'compat', 'modern_nets')
NUM_CLASSES = 1001


def _our_shape(keras_shape):
  """Keras' shape of a weight as our variable's: only the Dense kernel
  differs, a 1x1 convolution's kernel here."""
  shape = list(keras_shape)
  return [1, 1] + shape if len(shape) == 2 else shape


def keras_variables(model_name):
  """([name, shape, dtype] in Keras' order, trainable parameter count)."""
  application = keras_map.KERAS_WEIGHTS[model_name].application
  model = getattr(keras.applications, application)(
      weights=None, classes=NUM_CLASSES, classifier_activation=None)
  layer_map = keras_map.layer_map(model_name)
  variables, trainable = [], 0
  for layer in model.layers:
    if not layer.weights:
      continue
    for target, weight in zip(records.targets(layer_map[layer.name]),
                              layer.weights, strict=True):
      shape = _our_shape(weight.shape)
      variables.append([target.variable, shape, 'float32'])
      if weight.trainable:
        trainable += int(np.prod(shape))
  keras.backend.clear_session()
  return variables, trainable


def our_graph(model_name, size):
  """(end points {key: shape}, logits shape, output node names)."""
  with tf.Graph().as_default():
    tf1.train.get_or_create_global_step()
    images = tf1.placeholder(tf.float32, [1, size, size, 3], name='input')
    network_fn = nets_factory.get_network_fn(model_name, NUM_CLASSES,
                                             is_training=True)
    logits, end_points = network_fn(images)
    shapes = {k: v.shape.as_list() for k, v in end_points.items()}
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, size, size, 3], name='input')
    network_fn = nets_factory.get_network_fn(model_name, NUM_CLASSES)
    logits_op, end_points = network_fn(images)
    nodes = {'input': images.op.name, 'logits': logits_op.op.name,
             'predictions': end_points['Predictions'].op.name,
             'predictions_key': 'Predictions'}
  return shapes, logits.shape.as_list(), nodes


def entry(model_name):
  size = nets_factory.get_network_fn(model_name, 1).default_image_size
  variables, trainable = keras_variables(model_name)
  end_points, logits_shape, nodes = our_graph(model_name, size)
  return {
      'default_image_size': size,
      'input_shape': [1, size, size, 3],
      'num_classes': NUM_CLASSES,
      'variables': variables,
      'trainable_params': trainable,
      'end_points': end_points,
      'logits_shape': logits_shape,
  }, nodes


def main():
  manifest, output_nodes = {}, {}
  for model_name in keras_map.KERAS_WEIGHTS:
    print(model_name, flush=True)
    manifest[model_name], output_nodes[model_name] = entry(model_name)
  for name, data in (('manifest', manifest), ('output_nodes', output_nodes)):
    path = os.path.join(FOLDER, f'efficientnet_v2_{name}.json')
    with open(path, 'w') as f:
      f.write(_compact_json(data))


def _compact_json(data):
  """JSON with one network field, variable or end point per line."""
  def lines(value, indent):
    pad = ' ' * indent
    if isinstance(value, dict) and indent < 2:
      items = [f'{pad} {json.dumps(k)}: {lines(v, indent + 1).lstrip()}'
               for k, v in value.items()]
      return pad + '{\n' + ',\n'.join(items) + '\n' + pad + '}'
    if isinstance(value, (list, dict)) and len(value) > 4:
      items = (value.items() if isinstance(value, dict) else value)
      if isinstance(value, dict):
        rows = [f'{pad}  {json.dumps(k)}: {json.dumps(v)}' for k, v in items]
        return pad + '{\n' + ',\n'.join(rows) + '\n' + pad + ' }'
      rows = [f'{pad}  {json.dumps(v)}' for v in items]
      return pad + '[\n' + ',\n'.join(rows) + '\n' + pad + ' ]'
    return pad + json.dumps(value)
  return lines(data, 0) + '\n'


if __name__ == '__main__':
  main()
