"""Inception V1 (GoogLeNet) classification network, checkpoint-compatible.

Szegedy et al., "Going Deeper with Convolutions", http://arxiv.org/abs/1409.4842
"""
import tensorflow as tf

import slim
from nets import classifier_heads
from nets import inception_utils
from nets.inception_utils import avg_pool, build_stages, conv, max_pool

tf1 = tf.compat.v1

__all__ = ['inception_v1_base', 'inception_v1', 'inception_v1_arg_scope']


def inception_module(net, depths, scope, branch_2_conv='Conv2d_0b_3x3'):
  """The GoogLeNet module: four branches concatenated on channels.

  Branch_0: 1x1 | Branch_1: 1x1 > 3x3 | Branch_2: 1x1 > 3x3 |
  Branch_3: 3x3 max pool (stride 1) > 1x1.

  Args:
    net: a [batch, height, width, channels] tensor.
    depths: the six widths (Branch_0 1x1, Branch_1 1x1, Branch_1 3x3,
      Branch_2 1x1, Branch_2 3x3, Branch_3 1x1).
    scope: the module's scope (its end point name).
    branch_2_conv: scope of Branch_2's 3x3 convolution.

  Returns:
    The concatenation, with sum(depths[i] for i in (0, 2, 4, 5)) channels.
  """
  d0, d1a, d1b, d2a, d2b, d3 = depths
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, d0, [1, 1], scope='Conv2d_0a_1x1')
    with tf1.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, d1a, [1, 1], scope='Conv2d_0a_1x1')
      branch_1 = slim.conv2d(branch_1, d1b, [3, 3], scope='Conv2d_0b_3x3')
    with tf1.variable_scope('Branch_2'):
      branch_2 = slim.conv2d(net, d2a, [1, 1], scope='Conv2d_0a_1x1')
      branch_2 = slim.conv2d(branch_2, d2b, [3, 3], scope=branch_2_conv)
    with tf1.variable_scope('Branch_3'):
      branch_3 = slim.max_pool2d(net, [3, 3], scope='MaxPool_0a_3x3')
      branch_3 = slim.conv2d(branch_3, d3, [1, 1], scope='Conv2d_0b_1x1')
    return tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])


def _module(depths, **kwargs):
  return lambda net, scope: inception_module(net, depths, scope, **kwargs)


def _stages(depth):
  """The network as (end point, stage) pairs; shapes for a 224 x 224 input."""
  root = [
      ('Conv2d_1a_7x7', conv(depth(64), [7, 7], stride=2)),
      # 112 x 112 x 64
      ('MaxPool_2a_3x3', max_pool([3, 3], stride=2)),
      # 56 x 56 x 64
      ('Conv2d_2b_1x1', conv(depth(64), [1, 1])),
      ('Conv2d_2c_3x3', conv(depth(192), [3, 3])),
      # 56 x 56 x 192
      ('MaxPool_3a_3x3', max_pool([3, 3], stride=2)),
  ]
  w = lambda name: [depth(d) for d in inception_utils.GOOGLENET_WIDTHS[name]]
  modules = [
      # 28 x 28 x 192
      ('Mixed_3b', _module(w('Mixed_3b'))),
      # 28 x 28 x 256
      ('Mixed_3c', _module(w('Mixed_3c'))),
      # 28 x 28 x 480
      ('MaxPool_4a_3x3', max_pool([3, 3], stride=2)),
      # 14 x 14 x 480
      ('Mixed_4b', _module(w('Mixed_4b'))),
      ('Mixed_4c', _module(w('Mixed_4c'))),
      ('Mixed_4d', _module(w('Mixed_4d'))),
      ('Mixed_4e', _module(w('Mixed_4e'))),
      # 14 x 14 x 528
      ('Mixed_4f', _module(w('Mixed_4f'))),
      # 14 x 14 x 832
      ('MaxPool_5a_2x2', max_pool([2, 2], stride=2)),
      # 7 x 7 x 832
      # The checkpoint names Mixed_5b's second Branch_2 conv 'Conv2d_0a_3x3'.
      ('Mixed_5b', _module(w('Mixed_5b'), branch_2_conv='Conv2d_0a_3x3')),
      ('Mixed_5c', _module(w('Mixed_5c'))),
      # 7 x 7 x 1024
  ]
  return root, modules


def inception_v1_base(inputs,
                      final_endpoint='Mixed_5c',
                      include_root_block=True,
                      scope='InceptionV1',
                      min_depth=16,
                      depth_multiplier=1.0):
  """Defines the Inception V1 base architecture.

  Args:
    inputs: a tensor of size [batch_size, height, width, channels].
    final_endpoint: the end point to construct the network up to. One of
      ['Conv2d_1a_7x7', 'MaxPool_2a_3x3', 'Conv2d_2b_1x1', 'Conv2d_2c_3x3',
      'MaxPool_3a_3x3', 'Mixed_3b', 'Mixed_3c', 'MaxPool_4a_3x3', 'Mixed_4b',
      'Mixed_4c', 'Mixed_4d', 'Mixed_4e', 'Mixed_4f', 'MaxPool_5a_2x2',
      'Mixed_5b', 'Mixed_5c'].
    include_root_block: if False, the layers before Mixed_3b are skipped and
      `inputs` feeds Mixed_3b directly.
    scope: optional variable_scope.
    min_depth: minimum depth value (number of channels) for all convolution
      ops when depth_multiplier < 1. (Not in the original V1; the defaults
      reproduce it.)
    depth_multiplier: float multiplier for the depth (number of channels) of
      all convolution ops; must be greater than zero.

  Returns:
    A tuple (net, end_points): the output of `final_endpoint` and a
    dictionary from end point names to tensors.

  Raises:
    ValueError: if final_endpoint is not a built end point, or
      depth_multiplier <= 0.
  """
  root, modules = _stages(inception_utils.depth_fn(depth_multiplier,
                                                   min_depth))
  stages = root + modules if include_root_block else modules
  with tf1.variable_scope(scope, 'InceptionV1', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        weights_initializer=inception_utils.trunc_normal(0.01)):
      with slim.arg_scope([slim.conv2d, slim.max_pool2d],
                          stride=1, padding='SAME'):
        return build_stages(inputs, stages, final_endpoint, 'inception_v1')


def inception_v1(inputs,
                 num_classes=1000,
                 is_training=True,
                 dropout_keep_prob=0.8,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='InceptionV1',
                 global_pool=False,
                 min_depth=16,
                 depth_multiplier=1.0):
  """Defines the Inception V1 architecture.

  This architecture is defined in http://arxiv.org/pdf/1409.4842v1.pdf. The
  default image size used to train this network is 224x224.

  Args:
    inputs: a tensor of size [batch_size, height, width, channels].
    num_classes: number of predicted classes. If 0 or None, the logits layer
      is omitted and the input features to the logits layer (before dropout)
      are returned instead.
    is_training: whether is training or not.
    dropout_keep_prob: the percentage of activation values that are retained.
    prediction_fn: a function to get predictions out of logits.
    spatial_squeeze: if True, logits is of shape [B, C], if false logits is of
      shape [B, 1, 1, C], where B is batch_size and C is number of classes.
    reuse: whether or not the network and its variables should be reused. To
      be able to reuse 'scope' must be given.
    scope: optional variable_scope.
    global_pool: optional boolean flag to control the avgpooling before the
      logits layer. If false or unset, pooling is done with a fixed window
      that reduces default-sized inputs to 1x1, while larger inputs lead to
      larger outputs. If true, any input size is pooled down to 1x1.
    min_depth: see `inception_v1_base` (an addition to the original).
    depth_multiplier: see `inception_v1_base` (an addition to the original).

  Returns:
    net: a Tensor with the logits (pre-softmax activations) if num_classes
      is a non-zero integer, or the non-dropped-out input to the logits layer
      if num_classes is 0 or None.
    end_points: a dictionary from components of the network to the
      corresponding activation.
  """
  with tf1.variable_scope(scope, 'InceptionV1', [inputs],
                          reuse=reuse) as scope:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = inception_v1_base(inputs, scope=scope,
                                          min_depth=min_depth,
                                          depth_multiplier=depth_multiplier)
      with tf1.variable_scope('Logits'):
        # V1's head: a fixed 7 x 7 window of stride 1 (not shrunk for small
        # inputs), '0a/0b/0c' names, no 'PreLogits'; Predictions inside.
        net = classifier_heads.conv_logits(
            net, end_points, num_classes, [7, 7], global_pool=global_pool,
            dropout_keep_prob=dropout_keep_prob,
            spatial_squeeze=spatial_squeeze, pool_scope='AvgPool_0a_7x7',
            pool_end_point='AvgPool_0a_7x7', shrink_kernel=False,
            pool_kwargs={'stride': 1}, dropout_scope='Dropout_0b',
            logits_scope='Conv2d_0c_1x1', pre_logits=False)
        if num_classes:
          end_points['Predictions'] = prediction_fn(net, scope='Predictions')
  return net, end_points


inception_v1.default_image_size = 224

inception_v1_arg_scope = inception_utils.inception_arg_scope
