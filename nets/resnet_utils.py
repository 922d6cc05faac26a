"""What ResNet v1 and v2 share: blocks, strided convs, atrous stacking, scope.

A ResNet is a root block (a 7x7/2 convolution and a 3x3/2 max pool) followed
by a list of `Block`s; each block is a list of residual units that differ
only in their arguments. `stack_blocks_dense` runs the blocks and, given an
`output_stride`, switches to atrous (dilated) convolution once the requested
stride is reached, so a network trained for classification can produce
denser features without new variables.

The depths of the family are one table (`UNITS_PER_BLOCK`) and
`resnet_by_depth` builds a row of it, so `resnet_v1_50` ... `resnet_v2_200`
are one-line functions that differ only by data.

References:
  He et al., "Deep Residual Learning for Image Recognition",
  https://arxiv.org/abs/1512.03385
  He et al., "Identity Mappings in Deep Residual Networks",
  https://arxiv.org/abs/1603.05027
  Chen et al., "DeepLab: Semantic Image Segmentation with Deep Convolutional
  Nets, Atrous Convolution, and Fully Connected CRFs",
  https://arxiv.org/abs/1606.00915
"""
import collections
import contextlib

import tensorflow as tf

import slim
from nets import zoo

tf1 = tf.compat.v1

__all__ = ['Block', 'bottleneck_block', 'subsample', 'conv2d_same',
           'stack_blocks_dense', 'blocks_output_stride', 'resnet_scope',
           'classification_head',
           'resnet_arg_scope', 'UNITS_PER_BLOCK', 'resnet_by_depth']


class Block(collections.namedtuple('Block', ['scope', 'unit_fn', 'args'])):
  """A named group of residual units.

  Attributes:
    scope: the block's variable scope, e.g. 'block1'.
    unit_fn: the residual unit, called as
      `unit_fn(net, rate=..., **args[i])` for the i-th unit.
    args: one dict of keyword arguments per unit, e.g.
      `[{'depth': 256, 'depth_bottleneck': 64, 'stride': 1}, ...]`.
  """


def bottleneck_block(unit_fn, scope, base_depth, num_units, stride):
  """A block of bottleneck units that strides in its last unit.

  Args:
    unit_fn: the bottleneck unit (`resnet_v1.bottleneck` or
      `resnet_v2.bottleneck`).
    scope: the block's scope, e.g. 'block1'.
    base_depth: the bottleneck depth; the units' output depth is 4x that.
    num_units: the number of units.
    stride: the stride of the last unit (the others have stride 1).

  Returns:
    A `Block`.
  """
  unit = {'depth': base_depth * 4, 'depth_bottleneck': base_depth}
  return Block(scope, unit_fn, [dict(unit, stride=1)] * (num_units - 1) +
               [dict(unit, stride=stride)])


def subsample(inputs, factor, scope=None):
  """Keeps every `factor`-th row and column (a 1x1 max pool with that stride).

  Args:
    inputs: a [batch, height, width, channels] tensor.
    factor: the subsampling factor (1 returns `inputs` unchanged).
    scope: optional variable scope of the pooling op.

  Returns:
    A [batch, ceil(height / factor), ceil(width / factor), channels] tensor.
  """
  if factor == 1:
    return inputs
  return slim.max_pool2d(inputs, [1, 1], stride=factor, scope=scope)


def conv2d_same(inputs, num_outputs, kernel_size, stride, rate=1, scope=None):
  """A strided 2-D convolution with padding independent of the input size.

  With stride 1 this is `slim.conv2d(..., padding='SAME')`. With a larger
  stride, 'SAME' would pad depending on the input size (more at the end for
  even sizes); instead the input is padded by `zoo.fixed_padding` and the
  convolution is 'VALID'. This is what the published checkpoints expect.

  Args:
    inputs: a [batch, height_in, width_in, channels] tensor.
    num_outputs: the number of output channels.
    kernel_size: an int, the (square) kernel size.
    stride: an int, the output stride.
    rate: an int, the atrous rate.
    scope: the layer's scope.

  Returns:
    A [batch, height_out, width_out, num_outputs] tensor, with
    height_out = ceil(height_in / stride).
  """
  if stride == 1:
    return slim.conv2d(inputs, num_outputs, kernel_size, stride=1, rate=rate,
                       padding='SAME', scope=scope)
  inputs = zoo.fixed_padding(inputs, kernel_size, rate)
  return slim.conv2d(inputs, num_outputs, kernel_size, stride=stride,
                     rate=rate, padding='VALID', scope=scope)


@slim.add_arg_scope
def stack_blocks_dense(net, blocks, output_stride=None,
                       store_non_strided_activations=False,
                       outputs_collections=None):
  """Runs `blocks` one after the other, atrous once `output_stride` is reached.

  Each block's output is collected (under the block's scope name, e.g.
  'resnet_v1_50/block1') before its subsampling, if any.

  Args:
    net: a [batch, height, width, channels] tensor.
    blocks: a list of `Block`s.
    output_stride: the wanted ratio of input to output resolution, counted
      from `net` (None: the blocks' own strides). Once the product of the
      strides so far equals it, later units run with stride 1 and a
      correspondingly larger atrous rate.
    store_non_strided_activations: if True, each block's last unit runs with
      stride 1, its output is collected at full resolution, and the block's
      output is then subsampled (same values as the strided unit: a 1x1
      convolution commutes with subsampling).
    outputs_collections: collections to add the block outputs to.

  Returns:
    The output of the last block.

  Raises:
    ValueError: if `output_stride` cannot be reached.
  """
  if output_stride is not None:
    # The strides the activations pass through: 1, then the running product
    # of the units' strides. The target must be one of them.
    reachable = [1]
    for block in blocks:
      for unit in block.args:
        reachable.append(reachable[-1] * unit.get('stride', 1))
    if output_stride not in reachable:
      raise ValueError(f'output_stride: the blocks cannot reach a stride of '
                       f'{output_stride!r} (counted from their input, i.e. '
                       'after the root block\'s 4 in a ResNet); reachable: '
                       f'{sorted(set(reachable))}.')

  # Strides until output_stride is reached, atrous convolution after.
  schedule = zoo.AtrousSchedule(output_stride)
  for block in blocks:
    with tf1.variable_scope(block.scope, 'block', [net]) as sc:
      block_stride = 1
      for i, unit in enumerate(block.args):
        if store_non_strided_activations and i == len(block.args) - 1:
          # Move the stride of the block's last unit to the block's end.
          block_stride = unit.get('stride', 1)
          unit = dict(unit, stride=1)
        with tf1.variable_scope('unit_%d' % (i + 1), values=[net]):
          stride, rate = schedule.step(unit.get('stride', 1))
          net = block.unit_fn(net, rate=rate, **dict(unit, stride=stride))
      net = slim.utils.collect_named_outputs(outputs_collections, sc.name,
                                             net)
      stride, _ = schedule.step(block_stride)
      net = subsample(net, stride)
  return net


def blocks_output_stride(output_stride):
  """The output stride the blocks must reach after the 4x root block.

  Args:
    output_stride: None or the network's wanted output stride.

  Returns:
    None, or output_stride // 4.

  Raises:
    ValueError: if `output_stride` is not a multiple of 4.
  """
  if output_stride is None:
    return None
  if output_stride % 4 != 0:
    raise ValueError('output_stride must be a multiple of 4 (the root block '
                     f'already strides by 4); received {output_stride!r}.')
  return output_stride // 4


def _end_points_collection(sc):
  """The collection the layers of variable scope `sc` record outputs in."""
  return sc.original_name_scope + '_end_points'


@contextlib.contextmanager
def resnet_scope(scope, default_name, inputs, reuse, is_training, unit_fn):
  """A ResNet's variable scope, its layers recording their outputs.

  Every convolution, `unit_fn` unit and block built inside records its
  output in the scope's end-points collection under its own name
  ('resnet_v1_50/block1/unit_1/bottleneck_v1/conv1', ...);
  `classification_head` reads them back as the end points.

  Args:
    scope: the variable scope.
    default_name: the scope's name when `scope` is None.
    inputs: the network's input.
    reuse: whether to reuse the variables (needs `scope`).
    is_training: batch norm's mode; None leaves it to the caller's
      arg_scope.
    unit_fn: the network's residual unit (an add_arg_scope function).

  Yields:
    The variable scope, for `classification_head`.
  """
  with tf1.variable_scope(scope, default_name, [inputs], reuse=reuse) as sc:
    with slim.arg_scope(
        [slim.conv2d, unit_fn, stack_blocks_dense],
        outputs_collections=_end_points_collection(sc)), (
            slim.arg_scope([slim.batch_norm], is_training=is_training)
            if is_training is not None else contextlib.nullcontext()):
      yield sc


def classification_head(net, sc, num_classes, global_pool, spatial_squeeze):
  """Global pool, 1x1 'logits' conv, squeeze and softmax, as upstream.

  Call it inside `resnet_scope`: the ops are '<scope>/pool5',
  '<scope>/logits/...', '<scope>/SpatialSqueeze' and
  '<scope>/predictions/Reshape_1' (the exported node names).

  Args:
    net: the last block's (post-normed, for v2) output.
    sc: the variable scope `resnet_scope` yielded; the end points are read
      from its collection, the logits' are '<scope>/logits' and
      '<scope>/spatial_squeeze'.
    num_classes: the number of classes; 0 or None stops before the logits.
    global_pool: average `net` over height and width first.
    spatial_squeeze: squeeze the logits' height and width.

  Returns:
    (net, end_points): the logits, or the (pooled) features without
    classes, and the dict of end points.
  """
  end_points = slim.utils.convert_collection_to_dict(
      _end_points_collection(sc))
  if global_pool:
    net = tf.reduce_mean(net, [1, 2], name='pool5', keepdims=True)
    end_points['global_pool'] = net
  if num_classes:
    net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                      normalizer_fn=None, scope='logits')
    end_points[sc.name + '/logits'] = net
    if spatial_squeeze:
      net = tf.squeeze(net, [1, 2], name='SpatialSqueeze')
      end_points[sc.name + '/spatial_squeeze'] = net
    end_points['predictions'] = slim.softmax(net, scope='predictions')
  return net, end_points


def resnet_arg_scope(weight_decay=0.0001,
                     batch_norm_decay=0.997,
                     batch_norm_epsilon=1e-5,
                     batch_norm_scale=True,
                     activation_fn=tf.nn.relu,
                     use_batch_norm=True,
                     batch_norm_updates_collections=tf1.GraphKeys.UPDATE_OPS):
  """The defaults of every ResNet layer: He init, L2 decay, batch norm.

  Args:
    weight_decay: the L2 weight decay of the convolution weights.
    batch_norm_decay: the moving-average decay of batch norm.
    batch_norm_epsilon: added to the variance in batch norm.
    batch_norm_scale: whether batch norm has a gamma.
    activation_fn: the activation after each convolution's batch norm.
    use_batch_norm: whether convolutions are followed by batch norm.
    batch_norm_updates_collections: where batch norm's update ops go.

  Returns:
    An arg_scope for the ResNet networks.
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': batch_norm_scale,
      'updates_collections': batch_norm_updates_collections,
      'fused': None,  # Fused batch norm where possible.
  }
  with slim.arg_scope(
      [slim.conv2d],
      weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=slim.variance_scaling_initializer(),
      activation_fn=activation_fn,
      normalizer_fn=slim.batch_norm if use_batch_norm else None,
      normalizer_params=batch_norm_params):
    with slim.arg_scope([slim.batch_norm], **batch_norm_params):
      # 'SAME' padding for pool1 (as fb.resnet.torch) keeps features aligned
      # for dense prediction; the paper's code used 'VALID'. Override with
      # slim.arg_scope([slim.max_pool2d], padding='VALID') if needed.
      with slim.arg_scope([slim.max_pool2d], padding='SAME') as arg_sc:
        return arg_sc


# Residual units per block for each depth; the blocks' base depths are
# (64, 128, 256, 512) (times 4 at each block's output) and their strides
# (2, 2, 2, 1), the stride sitting in each block's last unit.
UNITS_PER_BLOCK = {
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 24, 36, 3),
}
_BASE_DEPTHS = (64, 128, 256, 512)
_BLOCK_STRIDES = (2, 2, 2, 1)


def resnet_by_depth(resnet_fn,
                    unit_fn,
                    num_layers,
                    inputs,
                    num_classes=None,
                    is_training=True,
                    global_pool=True,
                    output_stride=None,
                    spatial_squeeze=True,
                    store_non_strided_activations=False,
                    min_base_depth=8,
                    depth_multiplier=1,
                    reuse=None,
                    scope=None):
  """The ResNet of `num_layers` layers (a row of `UNITS_PER_BLOCK`).

  `resnet_v1.resnet_v1_50` ... `resnet_v2.resnet_v2_200` call it with their
  family's network and unit; the arguments after `inputs` are theirs.

  Args:
    resnet_fn: the family's network, `resnet_v1.resnet_v1` or
      `resnet_v2.resnet_v2`.
    unit_fn: the family's bottleneck unit.
    num_layers: a key of `UNITS_PER_BLOCK` (50, 101, 152 or 200).
    inputs: a [batch, height, width, channels] float tensor.
    num_classes: the number of classes; 0 or None returns the (pooled)
      features of the last block.
    is_training: whether batch norm uses batch statistics (None: leave
      batch norm's own setting alone).
    global_pool: average the last block over height and width.
    output_stride: None, or a multiple of 4: the input-to-output resolution
      ratio, reached by atrous convolution (8, 16 or 32 for these blocks).
    spatial_squeeze: squeeze the logits' 1 x 1 spatial dimensions.
    store_non_strided_activations: collect each block's output before its
      final stride (see `stack_blocks_dense`).
    min_base_depth: the least bottleneck depth after `depth_multiplier`.
    depth_multiplier: scales every bottleneck depth; > 0.
    reuse: whether to reuse the network's variables (needs `scope`).
    scope: the variable scope, e.g. 'resnet_v1_50'.

  Returns:
    (net, end_points): logits [batch, num_classes] (or
    [batch, 1, 1, num_classes] without spatial_squeeze, or the features
    without classes) and the dict of end points, which includes
    '<scope>/block1' ... '<scope>/block4', 'global_pool', '<scope>/logits'
    and 'predictions'.

  Raises:
    ValueError: if `output_stride` is not a multiple of 4 or cannot be
      reached, or depth_multiplier <= 0.
  """
  depth = zoo.depth_fn(depth_multiplier, min_base_depth)
  blocks = [
      bottleneck_block(unit_fn, f'block{i + 1}', depth(base), num_units,
                       stride)
      for i, (base, num_units, stride) in enumerate(
          zip(_BASE_DEPTHS, UNITS_PER_BLOCK[num_layers], _BLOCK_STRIDES))
  ]
  return resnet_fn(inputs, blocks, num_classes, is_training,
                   global_pool=global_pool, output_stride=output_stride,
                   include_root_block=True, spatial_squeeze=spatial_squeeze,
                   store_non_strided_activations=store_non_strided_activations,
                   reuse=reuse, scope=scope)
