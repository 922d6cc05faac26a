"""The ConvNeXt manifests, from the Keras twins: what our networks must be.

    .venv/bin/python tests/nets/modern_manifests/make_convnext_manifest.py
    # rewrites convnext_manifest.json and convnext_output_nodes.json (about
    # 2 minutes on 2 cores, most of it building Keras' ConvNeXtXLarge)

No original slim ConvNeXt exists, so the variables are derived from the
network whose function ours computes: each keras.applications ConvNeXt
(weights=None, 1001 classes, so its head has the shape of a 1001-class
network) is walked layer by layer (nested Sequentials by their inner
layers); every layer with weights must be in tools/keras_maps/convnext.py's
layer map and every mapped layer in the model; each Keras weight gives our
variable's name from the map and its shape from the Keras shape (through
the map's transform, the depthwise kernel's [7, 7, 1, c] -> [7, 7, c, 1]).
The variables are listed in Keras' layer order (within a layer norm:
gamma, beta; our graph creates beta first), which the contract test does
not depend on.

The end points, the logits' shape and the output node names are our API,
not Keras': they come from our graph (1001 classes, batch 1, is_training
True for the end points, False for the node names, as the contract test
builds them).
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, ROOT)
os.environ.setdefault('KERAS_BACKEND', 'tensorflow')

import tensorflow as tf  # pylint: disable=g-import-not-at-top

from nets import nets_factory  # pylint: disable=g-import-not-at-top
from tools.keras_maps import convnext as convnext_map  # pylint: disable=g-import-not-at-top
from tools.keras_maps import records  # pylint: disable=g-import-not-at-top

tf1 = tf.compat.v1

# The manifests live in the compatibility spec; this generator imports
# Keras, which only tests may.
HERE = os.path.join(ROOT, 'compat', 'modern_nets')
NUM_CLASSES = 1001
SIZE = 224


def keras_layers(model):
  """(name, [weight shapes]) of every layer with weights, nested ones by
  their inner layers, in the model's order."""
  for layer in model.layers:
    if hasattr(layer, 'layers'):
      yield from keras_layers(layer)
    elif layer.weights:
      yield layer.name, [tuple(w.shape) for w in layer.weights]


def variables_from_keras(model_name):
  """[[our name, shape, 'float32']] through the layer map."""
  import keras  # pylint: disable=g-import-not-at-top
  application = convnext_map.KERAS_WEIGHTS[model_name].application
  model = getattr(keras.applications, application)(
      weights=None, classes=NUM_CLASSES, classifier_activation=None)
  layer_map = convnext_map.layer_map(model_name)
  found = dict(keras_layers(model))
  del model
  keras.backend.clear_session()
  unmapped = sorted(set(found) - set(layer_map))
  missing = sorted(set(layer_map) - set(found))
  if unmapped or missing:
    raise SystemExit(f'{model_name}: Keras layers not mapped {unmapped[:5]}, '
                     f'mapped layers not in Keras {missing[:5]}')
  table = []
  for layer_name, shapes in found.items():
    targets = records.targets(layer_map[layer_name])
    if len(targets) != len(shapes):
      raise SystemExit(f'{layer_name}: {len(shapes)} weights in Keras, '
                       f'{len(targets)} mapped')
    for target, shape in zip(targets, shapes):
      if target.transform is not None:
        shape = target.transform(np.zeros(shape, np.float32)).shape
      table.append([target.variable, list(shape), 'float32'])
  return table


def graph_facts(model_name):
  """End points, logits shape (training graph) and output node names
  (inference graph) of our network."""
  shape = [1, SIZE, SIZE, 3]
  facts = {}
  for is_training in (True, False):
    with tf.Graph().as_default():
      images = tf1.placeholder(tf.float32, shape, name='input')
      network_fn = nets_factory.get_network_fn(model_name, NUM_CLASSES,
                                               is_training=is_training)
      logits, end_points = network_fn(images)
      if is_training:
        facts['end_points'] = {k: v.shape.as_list()
                               for k, v in end_points.items()}
        facts['logits_shape'] = logits.shape.as_list()
      else:
        facts['nodes'] = {'input': images.op.name,
                          'logits': logits.op.name,
                          'predictions': end_points['Predictions'].op.name,
                          'predictions_key': 'Predictions'}
  return facts


def entries(model_name):
  variables = variables_from_keras(model_name)
  facts = graph_facts(model_name)
  manifest = {
      'default_image_size': SIZE,
      'input_shape': [1, SIZE, SIZE, 3],
      'num_classes': NUM_CLASSES,
      'variables': variables,
      'trainable_params': int(sum(np.prod(v[1]) for v in variables)),
      'end_points': facts['end_points'],
      'logits_shape': facts['logits_shape'],
  }
  return manifest, facts['nodes']


def _write(name, data):
  with open(os.path.join(HERE, name), 'w') as f:
    json.dump(data, f, indent=1)
    f.write('\n')


def main():
  manifests, nodes = {}, {}
  for model_name in convnext_map.KERAS_WEIGHTS:
    manifests[model_name], nodes[model_name] = entries(model_name)
    print(model_name, len(manifests[model_name]['variables']), 'variables,',
          manifests[model_name]['trainable_params'], 'parameters')
  _write('convnext_manifest.json', manifests)
  _write('convnext_output_nodes.json', nodes)


if __name__ == '__main__':
  main()
