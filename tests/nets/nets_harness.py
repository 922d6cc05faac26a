"""One harness for every network test: manifest, goldens, deterministic weights.

The manifest (compat/slim_checkpoint_manifest.json) and the goldens
(compat/goldens/<name>.npz) were produced by the original research/slim code;
see compat/README.md.
"""
import contextlib
import functools
import json
import os

import numpy as np
import tensorflow as tf

from det_weights import det_input, det_value
from nets import nets_factory

tf1 = tf.compat.v1

COMPAT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'compat')
GOLDENS = os.path.join(COMPAT, 'goldens')


@functools.lru_cache(maxsize=None)
def manifest():
  """The original's manifest plus those of the networks it did not have
  (compat/modern_nets/<family>.json, same layout)."""
  with open(os.path.join(COMPAT, 'slim_checkpoint_manifest.json')) as f:
    entries = json.load(f)
  return {**entries, **_modern_nets('manifest.json')}


@functools.lru_cache(maxsize=None)
def output_nodes():
  with open(os.path.join(COMPAT, 'output_nodes.json')) as f:
    return {**json.load(f), **_modern_nets('output_nodes.json')}


def _modern_nets(suffix):
  """Merges compat/modern_nets/*_<suffix>: each family's file, written by
  the family's tests from its Keras twin, since no original exists."""
  folder = os.path.join(COMPAT, 'modern_nets')
  entries = {}
  for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
    if name.endswith('_' + suffix):
      with open(os.path.join(folder, name)) as f:
        entries.update(json.load(f))
  return entries


def golden_names():
  return sorted(f[:-4] for f in os.listdir(GOLDENS) if f.endswith('.npz'))


def is_stray_global_step(name):
  """The original leaked a `<cell>/global_step` in some NASNets (README)."""
  return name.endswith('/global_step')


def build(name, input_shape, num_classes=1001, is_training=True, **kwargs):
  """Builds `name` in the current graph on a float32 placeholder."""
  tf1.train.get_or_create_global_step()
  images = tf1.placeholder(tf.float32, input_shape, name='input')
  network_fn = nets_factory.get_network_fn(name, num_classes,
                                           is_training=is_training)
  logits, end_points = network_fn(images, **kwargs)
  return images, logits, end_points


def variable_table():
  """[name, shape, dtype] of the graph's global variables, sans global step."""
  return [[v.op.name, v.shape.as_list(), v.dtype.base_dtype.name]
          for v in tf1.global_variables()
          if v.op.name != 'global_step' and not is_stray_global_step(v.op.name)]


def load_det_weights(session):
  """Sets every float variable to det_value(name, shape).

  One run feeding every initializer: a run per variable (`Variable.load`)
  prunes the whole graph each time, minutes for NASNet's ten thousand ops.
  """
  variables = [v for v in tf1.global_variables()
               if v.dtype.base_dtype.is_floating]
  session.run([v.initializer for v in variables],
              {v.initializer.inputs[1]: det_value(v.op.name,
                                                  v.shape.as_list())
               for v in variables})


@contextlib.contextmanager
def initialised_session():
  """A session of the current graph with every variable initialised."""
  with tf1.Session() as sess:
    sess.run(tf1.global_variables_initializer())
    yield sess


def run_initialised(fetches, feed_dict=None):
  """Runs `fetches` once in a new session with initialised variables."""
  with initialised_session() as sess:
    return sess.run(fetches, feed_dict)


def golden_input_shape(name):
  entry = manifest()[name]
  shape = list(entry['input_shape'])
  shape[0] = 2
  return shape


def run_golden(name):
  """Returns (logits, {end point: value}) for det weights and det input."""
  shape = golden_input_shape(name)
  with tf.Graph().as_default():
    images, logits, end_points = build(name, shape, is_training=False)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      load_det_weights(sess)
      return sess.run((logits, end_points), {images: det_input(shape)})
