"""Forward and training-step throughput (images/sec) of each network on CPU.

    .venv/bin/python benchmarks/bench_nets.py                    # all networks
    .venv/bin/python benchmarks/bench_nets.py --models=cifarnet,resnet_v1_50 \
        --batch_size=4 --steps=5
    .venv/bin/python benchmarks/bench_nets.py --peak --vs_keras \
        --models=resnet_v1_50,inception_v3,mobilenet_v2 --batch_size=16 \
        --precision=float32,bfloat16

Random inputs at each network's default size (video networks: --num_frames
frames), 1001 classes, random weights. The forward pass is is_training=False;
a training step is is_training=True with softmax cross-entropy, the
regularization losses and plain SGD. Times exclude the first (warm-up) runs.
Never part of the test run: speed is measured here, not asserted in tests.

--precision takes several values: one column pair per precision, and the
ratio of each to the first. --peak first measures this machine's ceiling: a
bare matmul and a bare 3x3 convolution, in float32 and bfloat16 (GFLOP/s),
and every row then shows its forward pass's share of the conv ceiling of
its precision (profiler FLOPs per image x images/sec). --vs_keras runs the
keras.applications model of the same architecture where one exists, in the
same process, batch and size, and prints our images/sec over Keras' (Keras
is imported here only, to measure against it). --intra_op_threads,
--inter_op_threads and --xla configure the session as the scripts' flags
of the same names do (image_classifier.compute.session_config).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
from image_classifier import tf_env  # pylint: disable=unused-import,g-bad-import-order

import numpy as np
import tensorflow as tf

import slim
from image_classifier import compute
from image_classifier import specs
from nets import nets_factory
from nets.registry import NETWORKS

tf1 = tf.compat.v1

# keras.applications models of the same architecture (1000 classes there;
# the class count changes nothing measurable). The EfficientNets and
# ConvNeXts normalise their [0, 255] input inside, on both sides.
KERAS_MODELS = {
    'resnet_v1_50': 'ResNet50', 'mobilenet_v1': 'MobileNet',
    'mobilenet_v2': 'MobileNetV2', 'inception_v3': 'InceptionV3',
    'vgg_16': 'VGG16', 'vgg_19': 'VGG19', 'nasnet_mobile': 'NASNetMobile',
    'nasnet_large': 'NASNetLarge',
    **{f'efficientnet_b{i}': f'EfficientNetB{i}' for i in range(8)},
    **{f'efficientnet_v2_{v}': f'EfficientNetV2{v.upper()}'
       for v in ('b0', 'b1', 'b2', 'b3', 's', 'm', 'l')},
    'convnext_tiny': 'ConvNeXtTiny', 'convnext_small': 'ConvNeXtSmall',
    'convnext_base': 'ConvNeXtBase', 'convnext_large': 'ConvNeXtLarge',
    'convnext_xlarge': 'ConvNeXtXLarge',
}


def _input_shape(name, batch_size, num_frames):
  size = NETWORKS[name].default_image_size
  if NETWORKS[name].is_video:
    return [batch_size, num_frames, size, size, 3]
  return [batch_size, size, size, 3]


def _timed(run, warmup, steps):
  """Seconds per call of run(), after `warmup` calls."""
  for _ in range(warmup):
    run()
  start = time.perf_counter()
  for _ in range(steps):
    run()
  return (time.perf_counter() - start) / steps


def _forward_flops(graph):
  options = tf1.profiler.ProfileOptionBuilder.float_operation()
  options['output'] = 'none'
  return tf1.profiler.profile(graph, options=options).total_float_ops


def bench(name, batch_size, num_frames, warmup, steps, precision='float32',
          config=None):
  """(forward img/s, training img/s, forward FLOPs per image)."""
  shape = _input_shape(name, batch_size, num_frames)
  feed_value = np.random.default_rng(0).uniform(-1, 1, shape).astype(
      np.float32)
  rates, flops = [], None
  for is_training in (False, True):
    with tf.Graph().as_default() as graph:
      slim.get_or_create_global_step()
      images = tf1.placeholder(tf.float32, shape)
      logits, _ = nets_factory.get_network_fn(
          name, 1001, weight_decay=4e-5, is_training=is_training,
          precision=precision)(images)
      fetch = logits
      if is_training:
        labels = tf.one_hot(tf.zeros([batch_size], tf.int32), 1001)
        slim.losses.softmax_cross_entropy(tf.reshape(logits, [batch_size, -1]),
                                          labels)
        fetch = slim.learning.create_train_op(
            slim.losses.get_total_loss(),
            tf1.train.GradientDescentOptimizer(0.01))
      else:
        flops = _forward_flops(graph) / batch_size
      with tf1.Session(config=config) as sess:
        sess.run(tf1.global_variables_initializer())
        seconds = _timed(lambda: sess.run(fetch, {images: feed_value}),
                         warmup, steps)
        rates.append(batch_size / seconds)
  return rates[0], rates[1], flops


def bench_keras(name, batch_size, warmup, steps):
  """(forward img/s, training img/s) of the keras.applications twin."""
  import keras  # pylint: disable=import-outside-toplevel
  size = NETWORKS[name].default_image_size
  model = getattr(keras.applications, KERAS_MODELS[name])(
      weights=None, input_shape=(size, size, 3), classes=1000)
  model.compile(optimizer=keras.optimizers.SGD(0.01),
                loss='categorical_crossentropy')
  x = np.random.default_rng(0).uniform(-1, 1, [batch_size, size, size, 3]
                                       ).astype(np.float32)
  y = np.zeros([batch_size, 1000], np.float32)
  y[:, 0] = 1
  forward = tf.function(lambda t: model(t, training=False))
  x_tensor = tf.constant(x)
  seconds = _timed(lambda: forward(x_tensor).numpy(), warmup, steps)
  train = _timed(lambda: model.train_on_batch(x, y), warmup, steps)
  return batch_size / seconds, batch_size / train


def _conv_and_matmul(dtype):
  """(conv GFLOP/s, matmul GFLOP/s) of bare ops in `dtype`."""
  rng = np.random.default_rng(0)

  def operand(name, shape):
    # A variable, so that graph optimization cannot fold the op away.
    value = rng.uniform(-1, 1, shape).astype(np.float32)
    return tf.cast(slim.variable(name, initializer=tf.constant(value)), dtype)

  results = []
  for kind in ('conv', 'matmul'):
    with tf.Graph().as_default():
      if kind == 'conv':
        # A ResNet-50 stage-2 3x3 convolution: batch 16, 56x56x128.
        out = tf.nn.conv2d(operand('a', [16, 56, 56, 128]),
                           operand('w', [3, 3, 128, 128]), 1, 'SAME')
        flops = 2 * 16 * 56 * 56 * 128 * 3 * 3 * 128
      else:
        out = tf.matmul(operand('a', [2048, 2048]), operand('b', [2048, 2048]))
        flops = 2 * 2048 ** 3
      # A scalar fetch, so that copying the result out is not timed.
      op = tf.reduce_sum(tf.cast(out, tf.float32))
      with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        results.append(flops / _timed(lambda: sess.run(op), 2, 5) / 1e9)
  return tuple(results)


def peak():
  """{precision: (conv GFLOP/s, matmul GFLOP/s)} of this machine."""
  return {name: _conv_and_matmul(dtype) for name, dtype in
          (('float32', tf.float32), ('bfloat16', tf.bfloat16))}


def _cpu_name():
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return 'unknown CPU'


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--models', default='all',
                      help='comma-separated network names, or "all"')
  parser.add_argument('--batch_size', type=int, default=2)
  parser.add_argument('--num_frames', type=int, default=16,
                      help='frames of the video networks\' input')
  parser.add_argument('--warmup', type=int, default=1)
  parser.add_argument('--steps', type=int, default=3)
  parser.add_argument('--precision', default='float32',
                      help='comma-separated: float32, bfloat16, float16')
  parser.add_argument('--intra_op_threads', type=int, default=0)
  parser.add_argument('--inter_op_threads', type=int, default=0)
  parser.add_argument('--xla', action='store_true',
                      help='global XLA JIT (on CPUs only with TF_XLA_FLAGS='
                      '--tf_xla_cpu_global_jit)')
  parser.add_argument('--peak', action='store_true',
                      help='measure the fp32/bf16 conv and matmul ceiling')
  parser.add_argument('--vs_keras', action='store_true',
                      help='compare with the keras.applications twin')
  args = parser.parse_args()
  names = sorted(NETWORKS) if args.models == 'all' else [
      n.strip() for n in args.models.split(',')]
  unknown = [n for n in names if n not in NETWORKS]
  if unknown:
    parser.error(f'unknown network(s) {unknown}; valid: {sorted(NETWORKS)}')
  precisions = [p.strip() for p in args.precision.split(',')]
  bad = [p for p in precisions if p not in slim.precision.PRECISIONS]
  if bad:
    parser.error(f'unknown precision(s) {bad}')
  config = compute.session_config(specs.ComputeSpec(
      intra_op_threads=args.intra_op_threads,
      inter_op_threads=args.inter_op_threads, xla=args.xla))
  print(f'batch {args.batch_size}, {os.cpu_count()} CPU cores '
        f'({_cpu_name()}), TensorFlow {tf.__version__}, '
        f'{args.steps} timed steps after {args.warmup}')
  ceiling = None
  if args.peak:
    ceiling = peak()
    for name, (conv, matmul) in ceiling.items():
      print(f'peak {name:9s} conv 3x3 {conv:7.1f} GFLOP/s   matmul '
            f'{matmul:7.1f} GFLOP/s')
    print(f'peak bfloat16/float32 conv ratio '
          f'{ceiling["bfloat16"][0] / ceiling["float32"][0]:.2f}')
  header = f'{"network":32s} {"size":>4s}'
  for p in precisions:
    header += f' {p + " fwd":>14s} {p + " train":>15s}'
    if ceiling and p in ceiling:
      header += f' {"% peak":>7s}'
  if len(precisions) > 1:
    header += ''.join(f' {p + "/" + precisions[0]:>20s}'
                      for p in precisions[1:])
  if args.vs_keras:
    header += f' {"keras fwd":>10s} {"keras train":>11s} {"x keras":>12s}'
  print(header)
  for name in names:
    row = f'{name:32s} {NETWORKS[name].default_image_size:4d}'
    results = {}
    for p in precisions:
      forward, train, flops = bench(name, args.batch_size, args.num_frames,
                                    args.warmup, args.steps, p, config)
      results[p] = (forward, train)
      row += f' {forward:14.1f} {train:15.1f}'
      if ceiling and p in ceiling:
        row += f' {100 * flops * forward / 1e9 / ceiling[p][0]:6.0f}%'
    for p in precisions[1:]:
      base = results[precisions[0]]
      row += (f' {results[p][0] / base[0]:9.2f}x/'
              f'{results[p][1] / base[1]:.2f}x'.rjust(21))
    if args.vs_keras:
      if name in KERAS_MODELS and not NETWORKS[name].is_video:
        keras_forward, keras_train = bench_keras(
            name, args.batch_size, args.warmup, args.steps)
        base = results[precisions[0]]
        row += (f' {keras_forward:10.1f} {keras_train:11.1f} '
                f'{base[0] / keras_forward:5.2f}/{base[1] / keras_train:.2f}')
      else:
        row += f' {"-":>10s} {"-":>11s} {"-":>12s}'
    print(row, flush=True)


if __name__ == '__main__':
  main()
