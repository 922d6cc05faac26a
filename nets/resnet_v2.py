"""ResNet v2 (pre-activation), checkpoint-compatible with research/slim.

He et al., "Identity Mappings in Deep Residual Networks",
https://arxiv.org/abs/1603.05027

Each unit starts with batch norm and ReLU ('preact') and ends without them;
the root convolution has neither, and one batch norm + ReLU ('postnorm')
follows the last block. As in v1 the stride sits on each unit's 3x3
convolution and in each block's last unit. The preprocessing and size the
published v2 checkpoints were trained with are in their records in
nets/registry.py.

  with slim.arg_scope(resnet_v2.resnet_arg_scope()):
    net, end_points = resnet_v2.resnet_v2_101(inputs, 1001, is_training=False)
"""
import functools

import tensorflow as tf

import slim
from nets import resnet_utils
from nets.resnet_utils import resnet_arg_scope  # Re-exported, as upstream.

tf1 = tf.compat.v1

__all__ = ['bottleneck', 'resnet_v2', 'resnet_v2_block', 'resnet_v2_50',
           'resnet_v2_101', 'resnet_v2_152', 'resnet_v2_200',
           'resnet_arg_scope']


@slim.add_arg_scope
def bottleneck(inputs, depth, depth_bottleneck, stride, rate=1,
               outputs_collections=None, scope=None):
  """The pre-activation bottleneck: BN-ReLU, 1x1, 3x3 (strided), 1x1, + shortcut.

  Args and Returns: as `resnet_v1.bottleneck` (v2 has no
  use_bounded_activations); scope defaults to 'bottleneck_v2'.
  """
  with tf1.variable_scope(scope, 'bottleneck_v2', [inputs]) as sc:
    depth_in = slim.utils.last_dimension(inputs.shape, min_rank=4)
    preact = slim.batch_norm(inputs, activation_fn=tf.nn.relu, scope='preact')
    if depth == depth_in:
      # The identity shortcut takes the raw input, not the pre-activation.
      shortcut = resnet_utils.subsample(inputs, stride, 'shortcut')
    else:
      shortcut = slim.conv2d(preact, depth, [1, 1], stride=stride,
                             normalizer_fn=None, activation_fn=None,
                             scope='shortcut')

    residual = slim.conv2d(preact, depth_bottleneck, [1, 1], stride=1,
                           scope='conv1')
    residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3, stride,
                                        rate=rate, scope='conv2')
    residual = slim.conv2d(residual, depth, [1, 1], stride=1,
                           normalizer_fn=None, activation_fn=None,
                           scope='conv3')

    output = shortcut + residual
    return slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                           output)


# A block of v2 bottleneck units striding in its last unit:
# resnet_v2_block(scope, base_depth, num_units, stride) -> Block.
resnet_v2_block = functools.partial(resnet_utils.bottleneck_block, bottleneck)


def resnet_v2(inputs, blocks, num_classes=None, is_training=True,
              global_pool=True, output_stride=None, include_root_block=True,
              spatial_squeeze=True, store_non_strided_activations=False,
              reuse=None, scope=None):
  """ResNet v2 from a list of blocks (the base of `resnet_v2_50` etc.).

  Args:
    Those of `resnet_v1.resnet_v1`, documented there once; what v2 changes:
    blocks: a list of `resnet_utils.Block`s, e.g. from `resnet_v2_block`.
    global_pool: average the post-normed last block over height and width
      (scope 'pool5', end point 'global_pool').
    include_root_block: start with the 7x7/2 convolution 'conv1' (no batch
      norm, no activation) and the 3x3/2 max pool 'pool1'.
    store_non_strided_activations: an addition to upstream v2, as in v1.
    scope: the variable scope, default 'resnet_v2'.

  Returns and Raises: as `resnet_v1.resnet_v1` ((net, end_points); a
  ValueError for an `output_stride` it cannot reach).
  """
  with resnet_utils.resnet_scope(scope, 'resnet_v2', inputs, reuse,
                                 is_training, bottleneck) as sc:
    net = inputs
    if include_root_block:
      output_stride = resnet_utils.blocks_output_stride(output_stride)
      # No batch norm or activation here: the first unit's 'preact' does
      # them (appendix of the v2 paper).
      with slim.arg_scope([slim.conv2d], activation_fn=None,
                          normalizer_fn=None):
        net = resnet_utils.conv2d_same(net, 64, 7, stride=2, scope='conv1')
      net = slim.max_pool2d(net, [3, 3], stride=2, scope='pool1')
    net = resnet_utils.stack_blocks_dense(net, blocks, output_stride,
                                          store_non_strided_activations)
    # Units end without batch norm and activation; apply them once here.
    net = slim.batch_norm(net, activation_fn=tf.nn.relu, scope='postnorm')
    return resnet_utils.classification_head(
        net, sc, num_classes, global_pool, spatial_squeeze)


resnet_v2.default_image_size = 224


# The registered depths. Each takes `resnet_utils.resnet_by_depth`'s
# arguments after `inputs` (num_classes, is_training, global_pool, ...).
_by_depth = functools.partial(resnet_utils.resnet_by_depth, resnet_v2,
                              bottleneck)


def resnet_v2_50(inputs, *args, scope='resnet_v2_50', **kwargs):
  """Pre-activation ResNet-50, its blocks of 3, 4, 6 and 3 units.

  Its published checkpoint was trained on 299 x 299 inputs, inception
  preprocessing and 1001 classes (0 is background).
  """
  return _by_depth(50, inputs, *args, scope=scope, **kwargs)


def resnet_v2_101(inputs, *args, scope='resnet_v2_101', **kwargs):
  """Pre-activation ResNet-101, its blocks of 3, 4, 23 and 3 units.

  Its published checkpoint was trained on 299 x 299 inputs, inception
  preprocessing and 1001 classes (0 is background).
  """
  return _by_depth(101, inputs, *args, scope=scope, **kwargs)


def resnet_v2_152(inputs, *args, scope='resnet_v2_152', **kwargs):
  """Pre-activation ResNet-152, its blocks of 3, 8, 36 and 3 units.

  Its published checkpoint was trained on 299 x 299 inputs, inception
  preprocessing and 1001 classes (0 is background).
  """
  return _by_depth(152, inputs, *args, scope=scope, **kwargs)


def resnet_v2_200(inputs, *args, scope='resnet_v2_200', **kwargs):
  """Pre-activation ResNet-200, its blocks of 3, 24, 36 and 3 units (no checkpoint)."""
  return _by_depth(200, inputs, *args, scope=scope, **kwargs)


for _network in (resnet_v2_50, resnet_v2_101, resnet_v2_152, resnet_v2_200):
  _network.default_image_size = 224
