"""I3D: Inflated 3-D Inception-v1 for video, checkpoint-exact.

Carreira and Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset", https://arxiv.org/abs/1705.07750.

I3D is S3D-G (`s3dg.s3dg`, `s3dg.s3dg_base`) with `I3D_OPTIONS`: full
3-D convolutions (7x7x7 first conv, 3x3x3 from Conv2d_2c_3x3 on) and no
gating. Inputs are videos
[batch, time, height, width, 3].
"""
import slim
from nets import s3dg

__all__ = ['i3d_arg_scope', 'i3d_base', 'i3d', 'I3D_OPTIONS']

# What makes S3D-G's base I3D: a 7x7x7 first conv, full 3-D convolutions
# from Conv2d_2c_3x3 on, and no self gating.
I3D_OPTIONS = {'first_temporal_kernel_size': 7,
               'temporal_conv_startat': 'Conv2d_2c_3x3',
               'gating_startat': None}


def i3d_arg_scope(weight_decay=1e-7,
                  batch_norm_decay=0.999,
                  batch_norm_epsilon=0.001,
                  use_renorm=False,
                  separable_conv3d=False):
  """Defines the default arg scope for I3D.

  Args:
    weight_decay: the L2 weight decay of the conv weights.
    batch_norm_decay: decay of the batch-norm moving averages.
    batch_norm_epsilon: added to the variance to avoid dividing by zero.
    use_renorm: whether to use batch renormalization.
    separable_conv3d: whether to factorize the 3-D convs into spatial and
      temporal ones (as S3D does).

  Returns:
    An `arg_scope` to use for I3D.
  """
  return s3dg.video_arg_scope(weight_decay, batch_norm_decay,
                              batch_norm_epsilon, use_renorm,
                              separable_conv3d)


def i3d_base(inputs, final_endpoint='Mixed_5c', scope='InceptionV1'):
  """Defines the I3D base architecture.

  Args:
    inputs: a [batch, time, height, width, channels] tensor.
    final_endpoint: the end point to build up to, one of
      `s3dg.END_POINTS` ('Conv2d_1a_7x7' ... 'Mixed_5c').
    scope: the variable scope.

  Returns:
    (net, end_points): the output of `final_endpoint` and a dict from end
    point names to tensors.

  Raises:
    ValueError: if final_endpoint is not a valid end point.
  """
  return s3dg.s3dg_base(inputs, final_endpoint=final_endpoint, scope=scope,
                        **I3D_OPTIONS)


def i3d(inputs,
        num_classes=1000,
        dropout_keep_prob=0.8,
        is_training=True,
        prediction_fn=slim.softmax,
        spatial_squeeze=True,
        reuse=None,
        scope='InceptionV1',
        final_endpoint='Mixed_5c'):
  """Defines the I3D architecture.

  The default image size used to train this network is 224x224, with 64
  frames.

  Args:
    inputs: a [batch, time, height, width, channels] tensor.
    num_classes: the number of classes; 0 or None returns the pooled
      features [batch, 1024] (end point 'global_pool').
    dropout_keep_prob: dropout keep probability before the logits.
    is_training: whether to build the training graph.
    prediction_fn: computes 'Predictions' from the logits.
    spatial_squeeze: whether to squeeze the 1x1 spatial dimensions.
    reuse: whether to reuse the network and its variables.
    scope: the variable scope.
    final_endpoint: the end point of the base network to build up to (not
      in the original, which always built up to 'Mixed_5c').

  Returns:
    (logits, end_points): logits [batch, num_classes] (exported op
    'InceptionV1/Logits/SpatialSqueeze') and a dict of end points.
  """
  return s3dg.s3dg(inputs, num_classes=num_classes,
                   final_endpoint=final_endpoint,
                   dropout_keep_prob=dropout_keep_prob,
                   is_training=is_training, prediction_fn=prediction_fn,
                   spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope,
                   **I3D_OPTIONS)


i3d.default_image_size = 224
