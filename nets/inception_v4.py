"""Inception V4 classification network, checkpoint-compatible.

Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4, Inception-ResNet and the
Impact of Residual Connections on Learning", http://arxiv.org/abs/1602.07261
"""
import tensorflow as tf

import slim
from nets import inception_utils
from nets.inception_utils import build_stages, conv

tf1 = tf.compat.v1

__all__ = ['block_inception_a', 'block_reduction_a', 'block_inception_b',
           'block_reduction_b', 'block_inception_c', 'inception_v4_base',
           'inception_v4', 'inception_v4_arg_scope']


def block_inception_a(inputs, scope=None, reuse=None):
  """Builds Inception-A block for Inception v4 network (35 x 35 x 384)."""
  # By default use stride=1 and SAME padding
  with slim.arg_scope([slim.conv2d, slim.avg_pool2d, slim.max_pool2d],
                      stride=1, padding='SAME'):
    with tf1.variable_scope(scope, 'BlockInceptionA', [inputs], reuse=reuse):
      with tf1.variable_scope('Branch_0'):
        branch_0 = slim.conv2d(inputs, 96, [1, 1], scope='Conv2d_0a_1x1')
      with tf1.variable_scope('Branch_1'):
        branch_1 = slim.conv2d(inputs, 64, [1, 1], scope='Conv2d_0a_1x1')
        branch_1 = slim.conv2d(branch_1, 96, [3, 3], scope='Conv2d_0b_3x3')
      with tf1.variable_scope('Branch_2'):
        branch_2 = slim.conv2d(inputs, 64, [1, 1], scope='Conv2d_0a_1x1')
        branch_2 = slim.conv2d(branch_2, 96, [3, 3], scope='Conv2d_0b_3x3')
        branch_2 = slim.conv2d(branch_2, 96, [3, 3], scope='Conv2d_0c_3x3')
      with tf1.variable_scope('Branch_3'):
        branch_3 = slim.avg_pool2d(inputs, [3, 3], scope='AvgPool_0a_3x3')
        branch_3 = slim.conv2d(branch_3, 96, [1, 1], scope='Conv2d_0b_1x1')
      return tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])


def block_reduction_a(inputs, scope=None, reuse=None):
  """Builds Reduction-A block for Inception v4 network (35 -> 17)."""
  # By default use stride=1 and SAME padding
  with slim.arg_scope([slim.conv2d, slim.avg_pool2d, slim.max_pool2d],
                      stride=1, padding='SAME'):
    with tf1.variable_scope(scope, 'BlockReductionA', [inputs], reuse=reuse):
      with tf1.variable_scope('Branch_0'):
        branch_0 = slim.conv2d(inputs, 384, [3, 3], stride=2, padding='VALID',
                               scope='Conv2d_1a_3x3')
      with tf1.variable_scope('Branch_1'):
        branch_1 = slim.conv2d(inputs, 192, [1, 1], scope='Conv2d_0a_1x1')
        branch_1 = slim.conv2d(branch_1, 224, [3, 3], scope='Conv2d_0b_3x3')
        branch_1 = slim.conv2d(branch_1, 256, [3, 3], stride=2,
                               padding='VALID', scope='Conv2d_1a_3x3')
      with tf1.variable_scope('Branch_2'):
        branch_2 = slim.max_pool2d(inputs, [3, 3], stride=2, padding='VALID',
                                   scope='MaxPool_1a_3x3')
      return tf.concat(axis=3, values=[branch_0, branch_1, branch_2])


def block_inception_b(inputs, scope=None, reuse=None):
  """Builds Inception-B block for Inception v4 network (17 x 17 x 1024)."""
  # By default use stride=1 and SAME padding
  with slim.arg_scope([slim.conv2d, slim.avg_pool2d, slim.max_pool2d],
                      stride=1, padding='SAME'):
    with tf1.variable_scope(scope, 'BlockInceptionB', [inputs], reuse=reuse):
      with tf1.variable_scope('Branch_0'):
        branch_0 = slim.conv2d(inputs, 384, [1, 1], scope='Conv2d_0a_1x1')
      with tf1.variable_scope('Branch_1'):
        branch_1 = slim.conv2d(inputs, 192, [1, 1], scope='Conv2d_0a_1x1')
        branch_1 = slim.conv2d(branch_1, 224, [1, 7], scope='Conv2d_0b_1x7')
        branch_1 = slim.conv2d(branch_1, 256, [7, 1], scope='Conv2d_0c_7x1')
      with tf1.variable_scope('Branch_2'):
        branch_2 = slim.conv2d(inputs, 192, [1, 1], scope='Conv2d_0a_1x1')
        branch_2 = slim.conv2d(branch_2, 192, [7, 1], scope='Conv2d_0b_7x1')
        branch_2 = slim.conv2d(branch_2, 224, [1, 7], scope='Conv2d_0c_1x7')
        branch_2 = slim.conv2d(branch_2, 224, [7, 1], scope='Conv2d_0d_7x1')
        branch_2 = slim.conv2d(branch_2, 256, [1, 7], scope='Conv2d_0e_1x7')
      with tf1.variable_scope('Branch_3'):
        branch_3 = slim.avg_pool2d(inputs, [3, 3], scope='AvgPool_0a_3x3')
        branch_3 = slim.conv2d(branch_3, 128, [1, 1], scope='Conv2d_0b_1x1')
      return tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])


def block_reduction_b(inputs, scope=None, reuse=None):
  """Builds Reduction-B block for Inception v4 network (17 -> 8)."""
  # By default use stride=1 and SAME padding
  with slim.arg_scope([slim.conv2d, slim.avg_pool2d, slim.max_pool2d],
                      stride=1, padding='SAME'):
    with tf1.variable_scope(scope, 'BlockReductionB', [inputs], reuse=reuse):
      with tf1.variable_scope('Branch_0'):
        branch_0 = slim.conv2d(inputs, 192, [1, 1], scope='Conv2d_0a_1x1')
        branch_0 = slim.conv2d(branch_0, 192, [3, 3], stride=2,
                               padding='VALID', scope='Conv2d_1a_3x3')
      with tf1.variable_scope('Branch_1'):
        branch_1 = slim.conv2d(inputs, 256, [1, 1], scope='Conv2d_0a_1x1')
        branch_1 = slim.conv2d(branch_1, 256, [1, 7], scope='Conv2d_0b_1x7')
        branch_1 = slim.conv2d(branch_1, 320, [7, 1], scope='Conv2d_0c_7x1')
        branch_1 = slim.conv2d(branch_1, 320, [3, 3], stride=2,
                               padding='VALID', scope='Conv2d_1a_3x3')
      with tf1.variable_scope('Branch_2'):
        branch_2 = slim.max_pool2d(inputs, [3, 3], stride=2, padding='VALID',
                                   scope='MaxPool_1a_3x3')
      return tf.concat(axis=3, values=[branch_0, branch_1, branch_2])


def block_inception_c(inputs, scope=None, reuse=None):
  """Builds Inception-C block for Inception v4 network (8 x 8 x 1536)."""
  # By default use stride=1 and SAME padding
  with slim.arg_scope([slim.conv2d, slim.avg_pool2d, slim.max_pool2d],
                      stride=1, padding='SAME'):
    with tf1.variable_scope(scope, 'BlockInceptionC', [inputs], reuse=reuse):
      with tf1.variable_scope('Branch_0'):
        branch_0 = slim.conv2d(inputs, 256, [1, 1], scope='Conv2d_0a_1x1')
      with tf1.variable_scope('Branch_1'):
        branch_1 = slim.conv2d(inputs, 384, [1, 1], scope='Conv2d_0a_1x1')
        branch_1 = tf.concat(axis=3, values=[
            slim.conv2d(branch_1, 256, [1, 3], scope='Conv2d_0b_1x3'),
            slim.conv2d(branch_1, 256, [3, 1], scope='Conv2d_0c_3x1')])
      with tf1.variable_scope('Branch_2'):
        branch_2 = slim.conv2d(inputs, 384, [1, 1], scope='Conv2d_0a_1x1')
        branch_2 = slim.conv2d(branch_2, 448, [3, 1], scope='Conv2d_0b_3x1')
        branch_2 = slim.conv2d(branch_2, 512, [1, 3], scope='Conv2d_0c_1x3')
        branch_2 = tf.concat(axis=3, values=[
            slim.conv2d(branch_2, 256, [1, 3], scope='Conv2d_0d_1x3'),
            slim.conv2d(branch_2, 256, [3, 1], scope='Conv2d_0e_3x1')])
      with tf1.variable_scope('Branch_3'):
        branch_3 = slim.avg_pool2d(inputs, [3, 3], scope='AvgPool_0a_3x3')
        branch_3 = slim.conv2d(branch_3, 256, [1, 1], scope='Conv2d_0b_1x1')
      return tf.concat(axis=3, values=[branch_0, branch_1, branch_2, branch_3])


def _mixed_3a(net, scope):
  """147 x 147 x 64 -> 73 x 73 x 160: max pool | 3x3/2 conv."""
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      branch_0 = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID',
                                 scope='MaxPool_0a_3x3')
    with tf1.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, 96, [3, 3], stride=2, padding='VALID',
                             scope='Conv2d_0a_3x3')
    return tf.concat(axis=3, values=[branch_0, branch_1])


def _mixed_4a(net, scope):
  """73 x 73 x 160 -> 71 x 71 x 192: 1x1>3x3 | 1x1>1x7>7x1>3x3 ('VALID')."""
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, 64, [1, 1], scope='Conv2d_0a_1x1')
      branch_0 = slim.conv2d(branch_0, 96, [3, 3], padding='VALID',
                             scope='Conv2d_1a_3x3')
    with tf1.variable_scope('Branch_1'):
      branch_1 = slim.conv2d(net, 64, [1, 1], scope='Conv2d_0a_1x1')
      branch_1 = slim.conv2d(branch_1, 64, [1, 7], scope='Conv2d_0b_1x7')
      branch_1 = slim.conv2d(branch_1, 64, [7, 1], scope='Conv2d_0c_7x1')
      branch_1 = slim.conv2d(branch_1, 96, [3, 3], padding='VALID',
                             scope='Conv2d_1a_3x3')
    return tf.concat(axis=3, values=[branch_0, branch_1])


def _mixed_5a(net, scope):
  """71 x 71 x 192 -> 35 x 35 x 384: 3x3/2 conv | max pool."""
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      branch_0 = slim.conv2d(net, 192, [3, 3], stride=2, padding='VALID',
                             scope='Conv2d_1a_3x3')
    with tf1.variable_scope('Branch_1'):
      branch_1 = slim.max_pool2d(net, [3, 3], stride=2, padding='VALID',
                                 scope='MaxPool_1a_3x3')
    return tf.concat(axis=3, values=[branch_0, branch_1])


def _stages():
  """The network as (end point, stage) pairs; shapes for a 299 x 299 input."""
  blocks = lambda fn, first, count: [
      (first[:-1] + chr(ord(first[-1]) + i), fn) for i in range(count)]
  return [
      # 299 x 299 x 3
      ('Conv2d_1a_3x3', conv(32, [3, 3], stride=2, padding='VALID')),
      # 149 x 149 x 32
      ('Conv2d_2a_3x3', conv(32, [3, 3], padding='VALID')),
      # 147 x 147 x 32
      ('Conv2d_2b_3x3', conv(64, [3, 3])),
      # 147 x 147 x 64
      ('Mixed_3a', _mixed_3a),
      # 73 x 73 x 160
      ('Mixed_4a', _mixed_4a),
      # 71 x 71 x 192
      ('Mixed_5a', _mixed_5a),
      # 35 x 35 x 384: 4 x Inception-A blocks
      *blocks(block_inception_a, 'Mixed_5b', 4),
      # 35 x 35 x 384: Reduction-A block
      ('Mixed_6a', block_reduction_a),
      # 17 x 17 x 1024: 7 x Inception-B blocks
      *blocks(block_inception_b, 'Mixed_6b', 7),
      # 17 x 17 x 1024: Reduction-B block
      ('Mixed_7a', block_reduction_b),
      # 8 x 8 x 1536: 3 x Inception-C blocks
      *blocks(block_inception_c, 'Mixed_7b', 3),
      # 8 x 8 x 1536
  ]


def inception_v4_base(inputs, final_endpoint='Mixed_7d', scope=None):
  """Creates the Inception V4 network up to the given final endpoint.

  Args:
    inputs: a 4-D tensor of size [batch_size, height, width, 3].
    final_endpoint: specifies the endpoint to construct the network up to.
      It can be one of [ 'Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3',
      'Mixed_3a', 'Mixed_4a', 'Mixed_5a', 'Mixed_5b', 'Mixed_5c', 'Mixed_5d',
      'Mixed_5e', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e',
      'Mixed_6f', 'Mixed_6g', 'Mixed_6h', 'Mixed_7a', 'Mixed_7b', 'Mixed_7c',
      'Mixed_7d']
    scope: Optional variable_scope.

  Returns:
    logits: the logits outputs of the model.
    end_points: the set of end_points from the inception model.

  Raises:
    ValueError: if final_endpoint is not set to one of the predefined values,
  """
  with tf1.variable_scope(scope, 'InceptionV4', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                        stride=1, padding='SAME'):
      return build_stages(inputs, _stages(), final_endpoint, 'inception_v4')


def inception_v4(inputs, num_classes=1001, is_training=True,
                 dropout_keep_prob=0.8,
                 reuse=None,
                 scope='InceptionV4',
                 create_aux_logits=True):
  """Creates the Inception V4 model.

  The default image size used to train this network is 299x299. Inputs of
  other sizes work: the final average pool covers the whole feature map
  (global average pooling when its size is not known statically).

  Args:
    inputs: a 4-D tensor of size [batch_size, height, width, 3].
    num_classes: number of predicted classes. If 0 or None, the logits layer
      is omitted and the input features to the logits layer (before dropout)
      are returned instead.
    is_training: whether is training or not.
    dropout_keep_prob: float, the fraction to keep before final layer.
    reuse: whether or not the network and its variables should be reused. To
      be able to reuse 'scope' must be given.
    scope: Optional variable_scope.
    create_aux_logits: Whether to include the auxiliary logits.

  Returns:
    net: a Tensor with the logits (pre-softmax activations) if num_classes
      is a non-zero integer, or the non-dropped input to the logits layer
      if num_classes is 0 or None.
    end_points: the set of end_points from the inception model.
  """
  with tf1.variable_scope(scope, 'InceptionV4', [inputs],
                          reuse=reuse) as scope:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):
      net, end_points = inception_v4_base(inputs, scope=scope)

      with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                          stride=1, padding='SAME'):
        # Auxiliary Head logits
        if create_aux_logits and num_classes:
          # 17 x 17 x 1024
          end_points['AuxLogits'] = inception_utils.flat_aux_logits(
              end_points['Mixed_6h'], num_classes,
              pool_scope='AvgPool_1a_5x5', conv_scope='Conv2d_2a',
              logits_scope='Aux_logits')

        # Final pooling and prediction
        with tf1.variable_scope('Logits'):
          # 8 x 8 x 1536
          net = inception_utils.flat_logits(
              net, end_points, num_classes, 'AvgPool_1a',
              lambda net: slim.flatten(
                  slim.dropout(net, dropout_keep_prob, scope='Dropout_1b'),
                  scope='PreLogitsFlatten'))
  return net, end_points


inception_v4.default_image_size = 299

inception_v4_arg_scope = inception_utils.inception_arg_scope
