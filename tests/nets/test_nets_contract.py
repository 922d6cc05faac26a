"""The contract every registered network meets, driven by the registry.

Graph construction only (no forward pass): variable names, shapes and dtypes
against the original's manifest, end-point keys and static shapes, trainable
parameter count, and the factory's attributes.
"""
import numpy as np
import pytest
import tensorflow as tf

from nets.registry import NETWORKS
from tests.nets import nets_harness as harness

tf1 = tf.compat.v1

NAMES = sorted(NETWORKS)


@pytest.mark.parametrize('name', NAMES)
def test_matches_manifest(name):
  entry = harness.manifest()[name]
  with tf.Graph().as_default():
    _, logits, end_points = harness.build(name, entry['input_shape'])
    expected = [v for v in entry['variables']
                if not harness.is_stray_global_step(v[0])]
    got = harness.variable_table()
    missing = sorted(v[0] for v in expected if v not in got)
    extra = sorted(v[0] for v in got if v not in expected)
    assert not missing and not extra, (
        f'{name}: missing {missing[:10]} ({len(missing)}), '
        f'extra {extra[:10]} ({len(extra)})')
    assert len(got) == len(expected)
    trainable = sum(int(np.prod(v.shape.as_list()))
                    for v in tf1.trainable_variables())
    assert trainable == entry['trainable_params']
    got_end_points = {k: v.shape.as_list() for k, v in end_points.items()}
    assert got_end_points == entry['end_points']
    assert logits.shape.as_list() == entry['logits_shape']


@pytest.mark.parametrize('name', NAMES)
def test_factory_record(name):
  entry = harness.manifest()[name]
  from nets import nets_factory
  fn = nets_factory.get_network_fn(name, 10)
  assert fn.default_image_size == entry['default_image_size']


def test_unknown_name_lists_valid_names():
  from nets import nets_factory
  with pytest.raises(ValueError, match='inception_v3'):
    nets_factory.get_network_fn('inception_v9', 10)


@pytest.mark.parametrize('name', NAMES)
def test_inference_graph_node_names(name):
  """The op names users pass to freeze_graph and label_image."""
  nodes = harness.output_nodes()[name]
  entry = harness.manifest()[name]
  shape = [1] + list(entry['input_shape'][1:])
  with tf.Graph().as_default():
    images, logits, end_points = harness.build(name, shape, is_training=False)
    assert images.op.name == nodes['input']
    assert logits.op.name == nodes['logits']
    if nodes['predictions_key']:
      assert end_points[nodes['predictions_key']].op.name == \
          nodes['predictions']


@pytest.mark.parametrize('is_training', [True, False])
def test_cifarnet_lrn_op_only_in_inference_graphs(is_training):
  # Training graphs take slim.local_response_normalization (a faster
  # gradient); inference graphs keep the LRN op exporters and TFLite know.
  with tf.Graph().as_default() as graph:
    harness.build('cifarnet', [2, 32, 32, 3], num_classes=10,
                  is_training=is_training)
    lrn_ops = [op.name for op in graph.get_operations() if op.type == 'LRN']
  assert lrn_ops == ([] if is_training else
                     ['CifarNet/norm1', 'CifarNet/norm2'])
