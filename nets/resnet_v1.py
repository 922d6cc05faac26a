"""ResNet v1 (post-activation), checkpoint-compatible with research/slim.

He et al., "Deep Residual Learning for Image Recognition",
https://arxiv.org/abs/1512.03385

As in the final research/slim (and fb.resnet.torch), a bottleneck unit puts
its stride on the 3x3 convolution, not on the first 1x1, and each block's
stride sits in its last unit. Typical use, for classification or features:

  with slim.arg_scope(resnet_v1.resnet_arg_scope()):
    net, end_points = resnet_v1.resnet_v1_101(inputs, 1000, is_training=False)

For dense prediction pass `global_pool=False` and `output_stride=16` (or 8):
inputs of size 32k + 1 then give outputs of size 2k + 1 (or 4k + 1).
"""
import functools

import tensorflow as tf

import slim
from nets import resnet_utils
from nets.resnet_utils import resnet_arg_scope  # Re-exported, as upstream.

tf1 = tf.compat.v1

__all__ = ['bottleneck', 'resnet_v1', 'resnet_v1_block', 'resnet_v1_50',
           'resnet_v1_101', 'resnet_v1_152', 'resnet_v1_200',
           'resnet_arg_scope']


@slim.add_arg_scope
def bottleneck(inputs,
               depth,
               depth_bottleneck,
               stride,
               rate=1,
               outputs_collections=None,
               scope=None,
               use_bounded_activations=False):
  """The bottleneck residual unit: 1x1, 3x3 (strided), 1x1, plus shortcut.

  Batch norm and ReLU follow each convolution (from the arg_scope) except the
  last, whose batch-normed output is added to the shortcut before the ReLU.

  Args:
    inputs: a [batch, height, width, channels] tensor.
    depth: the unit's output depth.
    depth_bottleneck: the depth of the inner 1x1 and 3x3 convolutions.
    stride: the unit's stride, applied by the 3x3 convolution (and the
      shortcut).
    rate: the atrous rate of the 3x3 convolution.
    outputs_collections: collections to add the unit's output to.
    scope: the variable scope, default 'bottleneck_v1'.
    use_bounded_activations: use ReLU6 and clip the residual to [-6, 6]
      (helps quantized inference).

  Returns:
    A [batch, height / stride, width / stride, depth] tensor.
  """
  with tf1.variable_scope(scope, 'bottleneck_v1', [inputs]) as sc:
    depth_in = slim.utils.last_dimension(inputs.shape, min_rank=4)
    if depth == depth_in:
      shortcut = resnet_utils.subsample(inputs, stride, 'shortcut')
    else:
      shortcut = slim.conv2d(
          inputs, depth, [1, 1], stride=stride,
          activation_fn=tf.nn.relu6 if use_bounded_activations else None,
          scope='shortcut')

    residual = slim.conv2d(inputs, depth_bottleneck, [1, 1], stride=1,
                           scope='conv1')
    residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3, stride,
                                        rate=rate, scope='conv2')
    residual = slim.conv2d(residual, depth, [1, 1], stride=1,
                           activation_fn=None, scope='conv3')

    if use_bounded_activations:
      residual = tf.clip_by_value(residual, -6.0, 6.0)
      output = tf.nn.relu6(shortcut + residual)
    else:
      output = tf.nn.relu(shortcut + residual)
    return slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                           output)


def resnet_v1(inputs,
              blocks,
              num_classes=None,
              is_training=True,
              global_pool=True,
              output_stride=None,
              include_root_block=True,
              spatial_squeeze=True,
              store_non_strided_activations=False,
              reuse=None,
              scope=None):
  """ResNet v1 from a list of blocks (the base of `resnet_v1_50` etc.).

  Args:
    inputs: a [batch, height, width, channels] float tensor.
    blocks: a list of `resnet_utils.Block`s, e.g. from `resnet_v1_block`.
    num_classes: the number of classes; 0 or None returns the features.
    is_training: whether batch norm uses batch statistics; None leaves the
      batch-norm arg_scope alone.
    global_pool: average the last block over height and width (scope
      'pool5', end point 'global_pool').
    output_stride: None, or the wanted input-to-output resolution ratio (a
      multiple of 4 with the root block), reached by atrous convolution.
    include_root_block: start with the 7x7/2 convolution 'conv1' and the 3x3/2
      max pool 'pool1'. False is for inputs that are already features.
    spatial_squeeze: squeeze the logits to [batch, num_classes] (op
      '<scope>/SpatialSqueeze'); needs 1 x 1 logits.
    store_non_strided_activations: collect each block's output before its
      final stride.
    reuse: whether to reuse the variables (needs `scope`).
    scope: the variable scope, default 'resnet_v1'.

  Returns:
    (net, end_points): net is [batch, num_classes] logits (spatial_squeeze),
    [batch, h, w, num_classes] logits, or without classes the last block's
    features ([batch, 1, 1, channels] with global_pool). end_points holds
    every convolution, unit and block output by scope name, plus
    'global_pool', '<scope>/logits', '<scope>/spatial_squeeze' and
    'predictions' where they exist.

  Raises:
    ValueError: if `output_stride` is not a multiple of 4 (with the root
      block) or cannot be reached.
  """
  with resnet_utils.resnet_scope(scope, 'resnet_v1', inputs, reuse,
                                 is_training, bottleneck) as sc:
    net = inputs
    if include_root_block:
      output_stride = resnet_utils.blocks_output_stride(output_stride)
      net = resnet_utils.conv2d_same(net, 64, 7, stride=2, scope='conv1')
      net = slim.max_pool2d(net, [3, 3], stride=2, scope='pool1')
    net = resnet_utils.stack_blocks_dense(net, blocks, output_stride,
                                          store_non_strided_activations)
    return resnet_utils.classification_head(
        net, sc, num_classes, global_pool, spatial_squeeze)


resnet_v1.default_image_size = 224


# A block of v1 bottleneck units striding in its last unit:
# resnet_v1_block(scope, base_depth, num_units, stride) -> Block.
resnet_v1_block = functools.partial(resnet_utils.bottleneck_block, bottleneck)

# The registered depths. Each takes `resnet_utils.resnet_by_depth`'s
# arguments after `inputs` (num_classes, is_training, global_pool, ...).
_by_depth = functools.partial(resnet_utils.resnet_by_depth, resnet_v1,
                              bottleneck)


def resnet_v1_50(inputs, *args, scope='resnet_v1_50', **kwargs):
  """ResNet-50 v1: (3, 4, 6, 3) units per block.

  Its published checkpoint has 1000 classes (no background) and VGG
  preprocessing at 224 x 224.
  """
  return _by_depth(50, inputs, *args, scope=scope, **kwargs)


def resnet_v1_101(inputs, *args, scope='resnet_v1_101', **kwargs):
  """ResNet-101 v1: (3, 4, 23, 3) units per block.

  Its published checkpoint has 1000 classes (no background) and VGG
  preprocessing at 224 x 224.
  """
  return _by_depth(101, inputs, *args, scope=scope, **kwargs)


def resnet_v1_152(inputs, *args, scope='resnet_v1_152', **kwargs):
  """ResNet-152 v1: (3, 8, 36, 3) units per block.

  Its published checkpoint has 1000 classes (no background) and VGG
  preprocessing at 224 x 224.
  """
  return _by_depth(152, inputs, *args, scope=scope, **kwargs)


def resnet_v1_200(inputs, *args, scope='resnet_v1_200', **kwargs):
  """ResNet-200 v1: (3, 24, 36, 3) units per block."""
  return _by_depth(200, inputs, *args, scope=scope, **kwargs)


for _network in (resnet_v1_50, resnet_v1_101, resnet_v1_152, resnet_v1_200):
  _network.default_image_size = 224
