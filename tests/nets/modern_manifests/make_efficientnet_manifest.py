"""Writes efficientnet_manifest.json and efficientnet_output_nodes.json.

    .venv/bin/python tests/nets/modern_manifests/make_efficientnet_manifest.py

(about 6 minutes on two busy cores: it builds the eight Keras models and
ours.)

No original exists for these networks, so the variables come from the
Keras twins instead of our graph: every `keras.applications.EfficientNetBn`
(weights=None, 1001 classes) is built, each of its weights is named through
tools/keras_maps/efficientnet.py's layer map, and its Keras shape is kept
(the `predictions` Dense kernel [c, 1001] becomes our 1x1 convolution's
[1, 1, c, 1001], the importer's leading-1s reshape). The trainable
parameter count is Keras' (its trainable weights, less the normalisation
constants our network keeps as constants). Only the end points and the
output node names come from our graph, built as the contract test builds it
(is_training=True, batch 1, default size; inference graph for the nodes).
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, ROOT)
os.environ.setdefault('KERAS_BACKEND', 'tensorflow')

# pylint: disable=g-import-not-at-top
import keras
import numpy as np
import tensorflow as tf

from nets import nets_factory
from nets.registry import NETWORKS
from tools.keras_maps import efficientnet as keras_map
from tools.keras_maps import records
# pylint: enable=g-import-not-at-top

tf1 = tf.compat.v1
NUM_CLASSES = 1001
# The manifests live in the compatibility spec; this generator imports
# Keras, which only tests may.
HERE = os.path.join(ROOT, 'compat', 'modern_nets')


def keras_variables(model_name):
  """([name, shape, dtype] in Keras' layer order, trainable params)."""
  application = keras_map.KERAS_WEIGHTS[model_name].application
  model = getattr(keras.applications, application)(
      weights=None, classes=NUM_CLASSES, classifier_activation=None)
  layer_map = keras_map.layer_map(model_name)
  variables, trainable = [], 0
  for layer in model.layers:
    if not layer.weights:
      continue
    for target, weight in zip(records.targets(layer_map[layer.name]),
                              layer.weights):
      if isinstance(target, records.Fixed):
        continue
      shape = list(weight.shape)
      if layer.name == 'predictions' and len(shape) == 2:
        shape = [1, 1] + shape
      variables.append([target.variable, shape, 'float32'])
      if weight.trainable:
        trainable += int(np.prod(shape))
  keras.backend.clear_session()
  return variables, trainable


def our_graph_facts(model_name, size):
  """(end points {key: shape}, logits shape, output nodes) of our graph."""
  network_fn = nets_factory.get_network_fn(model_name, NUM_CLASSES,
                                           is_training=True)
  with tf.Graph().as_default():
    tf1.train.get_or_create_global_step()
    images = tf1.placeholder(tf.float32, [1, size, size, 3], name='input')
    logits, end_points = network_fn(images)
    shapes = {k: v.shape.as_list() for k, v in end_points.items()}
    logits_shape = logits.shape.as_list()
  network_fn = nets_factory.get_network_fn(model_name, NUM_CLASSES,
                                           is_training=False)
  with tf.Graph().as_default():
    images = tf1.placeholder(tf.float32, [1, size, size, 3], name='input')
    logits, end_points = network_fn(images)
    nodes = {'input': images.op.name, 'logits': logits.op.name,
             'predictions': end_points['Predictions'].op.name,
             'predictions_key': 'Predictions'}
  return shapes, logits_shape, nodes


def main():
  manifest, output_nodes = {}, {}
  for model_name in sorted(keras_map.KERAS_WEIGHTS):
    size = NETWORKS[model_name].default_image_size
    variables, trainable = keras_variables(model_name)
    end_points, logits_shape, nodes = our_graph_facts(model_name, size)
    manifest[model_name] = {
        'default_image_size': size,
        'input_shape': [1, size, size, 3],
        'num_classes': NUM_CLASSES,
        'variables': variables,
        'trainable_params': trainable,
        'end_points': end_points,
        'logits_shape': logits_shape,
    }
    output_nodes[model_name] = nodes
    print(model_name, len(variables), 'variables', trainable, 'trainable')
  for name, data in (('efficientnet_manifest.json', manifest),
                     ('efficientnet_output_nodes.json', output_nodes)):
    with open(os.path.join(HERE, name), 'w') as f:
      json.dump(data, f, indent=1)
      f.write('\n')


if __name__ == '__main__':
  main()
