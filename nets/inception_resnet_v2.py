"""Inception-ResNet-v2 classification network, checkpoint-compatible.

Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4, Inception-ResNet and the
Impact of Residual Connections on Learning", http://arxiv.org/abs/1602.07261
"""
import tensorflow as tf

import slim
from nets import inception_utils
from nets.inception_utils import build_stages, conv, max_pool

tf1 = tf.compat.v1

__all__ = ['block35', 'block17', 'block8', 'inception_resnet_v2_base',
           'inception_resnet_v2', 'inception_resnet_v2_arg_scope']


def _residual(net, mixed, scale, activation_fn):
  """net + scale * (1x1 linear projection of `mixed`), then activation_fn."""
  up = slim.conv2d(mixed, net.get_shape()[3], 1, normalizer_fn=None,
                   activation_fn=None, scope='Conv2d_1x1')
  scaled_up = up * scale
  if activation_fn == tf.nn.relu6:
    # Use clip_by_value to simulate bandpass activation.
    scaled_up = tf.clip_by_value(scaled_up, -6.0, 6.0)

  net += scaled_up
  if activation_fn:
    net = activation_fn(net)
  return net


def block35(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
  """Builds the 35x35 resnet block."""
  with tf1.variable_scope(scope, 'Block35', [net], reuse=reuse):
    with tf1.variable_scope('Branch_0'):
      tower_conv = slim.conv2d(net, 32, 1, scope='Conv2d_1x1')
    with tf1.variable_scope('Branch_1'):
      tower_conv1_0 = slim.conv2d(net, 32, 1, scope='Conv2d_0a_1x1')
      tower_conv1_1 = slim.conv2d(tower_conv1_0, 32, 3, scope='Conv2d_0b_3x3')
    with tf1.variable_scope('Branch_2'):
      tower_conv2_0 = slim.conv2d(net, 32, 1, scope='Conv2d_0a_1x1')
      tower_conv2_1 = slim.conv2d(tower_conv2_0, 48, 3, scope='Conv2d_0b_3x3')
      tower_conv2_2 = slim.conv2d(tower_conv2_1, 64, 3, scope='Conv2d_0c_3x3')
    mixed = tf.concat(axis=3, values=[tower_conv, tower_conv1_1,
                                      tower_conv2_2])
    return _residual(net, mixed, scale, activation_fn)


def block17(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
  """Builds the 17x17 resnet block."""
  with tf1.variable_scope(scope, 'Block17', [net], reuse=reuse):
    with tf1.variable_scope('Branch_0'):
      tower_conv = slim.conv2d(net, 192, 1, scope='Conv2d_1x1')
    with tf1.variable_scope('Branch_1'):
      tower_conv1_0 = slim.conv2d(net, 128, 1, scope='Conv2d_0a_1x1')
      tower_conv1_1 = slim.conv2d(tower_conv1_0, 160, [1, 7],
                                  scope='Conv2d_0b_1x7')
      tower_conv1_2 = slim.conv2d(tower_conv1_1, 192, [7, 1],
                                  scope='Conv2d_0c_7x1')
    mixed = tf.concat(axis=3, values=[tower_conv, tower_conv1_2])
    return _residual(net, mixed, scale, activation_fn)


def block8(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
  """Builds the 8x8 resnet block."""
  with tf1.variable_scope(scope, 'Block8', [net], reuse=reuse):
    with tf1.variable_scope('Branch_0'):
      tower_conv = slim.conv2d(net, 192, 1, scope='Conv2d_1x1')
    with tf1.variable_scope('Branch_1'):
      tower_conv1_0 = slim.conv2d(net, 192, 1, scope='Conv2d_0a_1x1')
      tower_conv1_1 = slim.conv2d(tower_conv1_0, 224, [1, 3],
                                  scope='Conv2d_0b_1x3')
      tower_conv1_2 = slim.conv2d(tower_conv1_1, 256, [3, 1],
                                  scope='Conv2d_0c_3x1')
    mixed = tf.concat(axis=3, values=[tower_conv, tower_conv1_2])
    return _residual(net, mixed, scale, activation_fn)


def _mixed_5b(net, scope):
  """35 x 35 x 192 -> 35 x 35 x 320: 1x1 | 1x1>5x5 | 1x1>3x3>3x3 | avg>1x1."""
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      tower_conv = slim.conv2d(net, 96, 1, scope='Conv2d_1x1')
    with tf1.variable_scope('Branch_1'):
      tower_conv1_0 = slim.conv2d(net, 48, 1, scope='Conv2d_0a_1x1')
      tower_conv1_1 = slim.conv2d(tower_conv1_0, 64, 5,
                                  scope='Conv2d_0b_5x5')
    with tf1.variable_scope('Branch_2'):
      tower_conv2_0 = slim.conv2d(net, 64, 1, scope='Conv2d_0a_1x1')
      tower_conv2_1 = slim.conv2d(tower_conv2_0, 96, 3,
                                  scope='Conv2d_0b_3x3')
      tower_conv2_2 = slim.conv2d(tower_conv2_1, 96, 3,
                                  scope='Conv2d_0c_3x3')
    with tf1.variable_scope('Branch_3'):
      tower_pool = slim.avg_pool2d(net, 3, stride=1, padding='SAME',
                                   scope='AvgPool_0a_3x3')
      tower_pool_1 = slim.conv2d(tower_pool, 64, 1,
                                 scope='Conv2d_0b_1x1')
    return tf.concat(
        [tower_conv, tower_conv1_1, tower_conv2_2, tower_pool_1], 3)


def _mixed_6a(net, scope, stride, padding):
  """35 x 35 x 320 -> 17 x 17 x 1088: 3x3/2 | 1x1>3x3>3x3/2 | max/2."""
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      tower_conv = slim.conv2d(net, 384, 3, stride=stride, padding=padding,
                               scope='Conv2d_1a_3x3')
    with tf1.variable_scope('Branch_1'):
      tower_conv1_0 = slim.conv2d(net, 256, 1, scope='Conv2d_0a_1x1')
      tower_conv1_1 = slim.conv2d(tower_conv1_0, 256, 3,
                                  scope='Conv2d_0b_3x3')
      tower_conv1_2 = slim.conv2d(tower_conv1_1, 384, 3, stride=stride,
                                  padding=padding, scope='Conv2d_1a_3x3')
    with tf1.variable_scope('Branch_2'):
      tower_pool = slim.max_pool2d(net, 3, stride=stride, padding=padding,
                                   scope='MaxPool_1a_3x3')
    return tf.concat([tower_conv, tower_conv1_2, tower_pool], 3)


def _mixed_7a(net, scope, padding):
  """17 x 17 x 1088 -> 8 x 8 x 2080: three conv towers to 3x3/2 | max/2."""
  with tf1.variable_scope(scope):
    with tf1.variable_scope('Branch_0'):
      tower_conv = slim.conv2d(net, 256, 1, scope='Conv2d_0a_1x1')
      tower_conv_1 = slim.conv2d(tower_conv, 384, 3, stride=2,
                                 padding=padding, scope='Conv2d_1a_3x3')
    with tf1.variable_scope('Branch_1'):
      tower_conv1 = slim.conv2d(net, 256, 1, scope='Conv2d_0a_1x1')
      tower_conv1_1 = slim.conv2d(tower_conv1, 288, 3, stride=2,
                                  padding=padding, scope='Conv2d_1a_3x3')
    with tf1.variable_scope('Branch_2'):
      tower_conv2 = slim.conv2d(net, 256, 1, scope='Conv2d_0a_1x1')
      tower_conv2_1 = slim.conv2d(tower_conv2, 288, 3,
                                  scope='Conv2d_0b_3x3')
      tower_conv2_2 = slim.conv2d(tower_conv2_1, 320, 3, stride=2,
                                  padding=padding, scope='Conv2d_1a_3x3')
    with tf1.variable_scope('Branch_3'):
      tower_pool = slim.max_pool2d(net, 3, stride=2, padding=padding,
                                   scope='MaxPool_1a_3x3')
    return tf.concat(
        [tower_conv_1, tower_conv1_1, tower_conv2_2, tower_pool], 3)


def _repeat(block, count, scale, activation_fn, rate=1):
  """A stage of `count` residual blocks: scopes Repeat[_n]/<block>_1 .. _count.

  slim.repeat names the blocks after the function (block35_1, ...) inside a
  fresh 'Repeat' scope, the first one 'Repeat', then 'Repeat_1', 'Repeat_2'.
  """
  def stage(net, scope):
    del scope  # Unnamed stage: the scope is slim.repeat's.
    with slim.arg_scope([slim.conv2d], rate=rate):
      return slim.repeat(net, count, block, scale=scale,
                         activation_fn=activation_fn)
  return stage


def inception_resnet_v2_base(inputs,
                             final_endpoint='Conv2d_7b_1x1',
                             output_stride=16,
                             align_feature_maps=False,
                             scope=None,
                             activation_fn=tf.nn.relu):
  """Inception model from  http://arxiv.org/abs/1602.07261.

  Constructs an Inception Resnet v2 network from inputs to the given final
  endpoint. This method can construct the network up to the final inception
  block Conv2d_7b_1x1.

  Args:
    inputs: a tensor of size [batch_size, height, width, channels].
    final_endpoint: specifies the endpoint to construct the network up to. It
      can be one of ['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3',
      'MaxPool_3a_3x3', 'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'MaxPool_5a_3x3',
      'Mixed_5b', 'Mixed_6a', 'PreAuxLogits', 'Mixed_7a', 'Conv2d_7b_1x1']
    output_stride: A scalar that specifies the requested ratio of input to
      output spatial resolution. Only supports 8 and 16.
    align_feature_maps: When true, changes all the VALID paddings in the
      network to SAME padding so that the feature maps are aligned.
    scope: Optional variable_scope.
    activation_fn: Activation function for block scopes.

  Returns:
    (net, end_points): the output of `final_endpoint` (Conv2d_7b_1x1's
    8 x 8 x 1536 at 299 x 299 by default) and every end point up to it,
    'PreAuxLogits' included.

  Raises:
    ValueError: if final_endpoint is not set to one of the predefined values,
      or if the output_stride is not 8 or 16, or if the output_stride is 8
      and we request an end point after 'PreAuxLogits'.
  """
  if output_stride not in (8, 16):
    raise ValueError('output_stride must be 8 or 16. '
                     f'Received: {output_stride!r}.')
  padding = 'SAME' if align_feature_maps else 'VALID'
  use_atrous = output_stride == 8

  stages = [
      # 299 x 299 x 3
      ('Conv2d_1a_3x3', conv(32, 3, stride=2, padding=padding)),
      # 149 x 149 x 32
      ('Conv2d_2a_3x3', conv(32, 3, padding=padding)),
      # 147 x 147 x 32
      ('Conv2d_2b_3x3', conv(64, 3)),
      # 147 x 147 x 64
      ('MaxPool_3a_3x3', max_pool(3, stride=2, padding=padding)),
      # 73 x 73 x 64
      ('Conv2d_3b_1x1', conv(80, 1, padding=padding)),
      # 73 x 73 x 80
      ('Conv2d_4a_3x3', conv(192, 3, padding=padding)),
      # 71 x 71 x 192
      ('MaxPool_5a_3x3', max_pool(3, stride=2, padding=padding)),
      # 35 x 35 x 192
      ('Mixed_5b', _mixed_5b),
      # 35 x 35 x 320
      (None, _repeat(block35, 10, 0.17, activation_fn)),
      # 35 x 35 x 320
      ('Mixed_6a', lambda net, scope: _mixed_6a(
          net, scope, stride=1 if use_atrous else 2, padding=padding)),
      # 17 x 17 x 1088 (33 x 33 x 1088 with output_stride 8)
      (None, _repeat(block17, 20, 0.10, activation_fn,
                     rate=2 if use_atrous else 1)),
      ('PreAuxLogits', lambda net, scope: net),
      # 17 x 17 x 1088
      ('Mixed_7a', lambda net, scope: _mixed_7a(net, scope, padding)),
      # 8 x 8 x 2080
      (None, _repeat(block8, 9, 0.20, activation_fn)),
      (None, lambda net, scope: block8(net, activation_fn=None)),
      # 8 x 8 x 2080
      ('Conv2d_7b_1x1', conv(1536, 1)),
      # 8 x 8 x 1536
  ]
  if use_atrous:
    names = [name for name, _ in stages if name is not None]
    if final_endpoint in names[names.index('PreAuxLogits') + 1:]:
      raise ValueError('output_stride=8 is only supported up to the '
                       "'PreAuxLogits' end point. Received: final_endpoint="
                       f'{final_endpoint!r}.')

  with tf1.variable_scope(scope, 'InceptionResnetV2', [inputs]):
    with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d],
                        stride=1, padding='SAME'):
      return build_stages(inputs, stages, final_endpoint,
                          'inception_resnet_v2')


def inception_resnet_v2(inputs, num_classes=1001, is_training=True,
                        dropout_keep_prob=0.8,
                        reuse=None,
                        scope='InceptionResnetV2',
                        create_aux_logits=True,
                        activation_fn=tf.nn.relu):
  """Creates the Inception Resnet V2 model.

  The default image size used to train this network is 299x299. Inputs of
  other sizes work: the final average pool covers the whole feature map
  (global average pooling when its size is not known statically).

  Args:
    inputs: a 4-D tensor of size [batch_size, height, width, 3].
      Dimension batch_size may be undefined. If create_aux_logits is false,
      also height and width may be undefined.
    num_classes: number of predicted classes. If 0 or None, the logits layer
      is omitted and the input features to the logits layer (before  dropout)
      are returned instead.
    is_training: whether is training or not.
    dropout_keep_prob: float, the fraction to keep before final layer.
    reuse: whether or not the network and its variables should be reused. To
      be able to reuse 'scope' must be given.
    scope: Optional variable_scope.
    create_aux_logits: Whether to include the auxiliary logits.
    activation_fn: Activation function for conv2d.

  Returns:
    net: the output of the logits layer (if num_classes is a non-zero
      integer), or the non-dropped-out input to the logits layer (if
      num_classes is 0 or None).
    end_points: the set of end_points from the inception model.
  """
  with tf1.variable_scope(scope, 'InceptionResnetV2', [inputs],
                          reuse=reuse) as scope:
    with slim.arg_scope([slim.batch_norm, slim.dropout],
                        is_training=is_training):

      net, end_points = inception_resnet_v2_base(inputs, scope=scope,
                                                 activation_fn=activation_fn)

      if create_aux_logits and num_classes:
        # 17 x 17 x 1088; the checkpoint's name for the pool is a conv's.
        end_points['AuxLogits'] = inception_utils.flat_aux_logits(
            end_points['PreAuxLogits'], num_classes,
            pool_scope='Conv2d_1a_3x3', conv_scope='Conv2d_2a_5x5',
            logits_scope='Logits')

      with tf1.variable_scope('Logits'):
        # 8 x 8 x 1536
        net = inception_utils.flat_logits(
            net, end_points, num_classes, 'AvgPool_1a_8x8',
            lambda net: slim.dropout(slim.flatten(net), dropout_keep_prob,
                                     is_training=is_training,
                                     scope='Dropout'))
  return net, end_points


inception_resnet_v2.default_image_size = 299


def inception_resnet_v2_arg_scope(
    weight_decay=0.00004,
    batch_norm_decay=0.9997,
    batch_norm_epsilon=0.001,
    activation_fn=tf.nn.relu,
    batch_norm_updates_collections=tf1.GraphKeys.UPDATE_OPS,
    batch_norm_scale=False):
  """Returns the scope with the default parameters for inception_resnet_v2.

  Unlike `inception_utils.inception_arg_scope`, it also regularizes biases
  and always uses batch norm.

  Args:
    weight_decay: the weight decay for weights variables.
    batch_norm_decay: decay for the moving average of batch_norm momentums.
    batch_norm_epsilon: small float added to variance to avoid dividing by
      zero.
    activation_fn: Activation function for conv2d.
    batch_norm_updates_collections: Collection for the update ops for batch
      norm.
    batch_norm_scale: If True, uses an explicit `gamma` multiplier to scale
      the activations in the batch normalization layer.

  Returns:
    a arg_scope with the parameters needed for inception_resnet_v2.
  """
  # Set weight_decay for weights in conv2d and fully_connected layers.
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      weights_regularizer=slim.l2_regularizer(weight_decay),
                      biases_regularizer=slim.l2_regularizer(weight_decay)):

    # Set activation_fn and parameters for batch_norm.
    with slim.arg_scope([slim.conv2d], activation_fn=activation_fn,
                        normalizer_fn=slim.batch_norm,
                        normalizer_params=inception_utils.batch_norm_params(
                            batch_norm_decay, batch_norm_epsilon,
                            batch_norm_updates_collections,
                            batch_norm_scale)) as scope:
      return scope
