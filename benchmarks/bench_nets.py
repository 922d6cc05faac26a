"""Forward and training-step throughput (images/sec) of each network on CPU.

    .venv/bin/python benchmarks/bench_nets.py                    # all networks
    .venv/bin/python benchmarks/bench_nets.py --models=cifarnet,resnet_v1_50 \
        --batch_size=4 --steps=5

Random inputs at each network's default size (video networks: --num_frames
frames), 1001 classes, random weights. The forward pass is is_training=False;
a training step is is_training=True with softmax cross-entropy, the
regularization losses and plain SGD. Times exclude the first (warm-up) runs.
Never part of the test run: speed is measured here, not asserted in tests.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import numpy as np
import tensorflow as tf

import slim
from nets import nets_factory
from nets.registry import NETWORKS

tf1 = tf.compat.v1


def _input_shape(name, batch_size, num_frames):
  size = NETWORKS[name].default_image_size
  if NETWORKS[name].is_video:
    return [batch_size, num_frames, size, size, 3]
  return [batch_size, size, size, 3]


def _images_per_sec(sess, fetch, feed, batch_size, warmup, steps):
  for _ in range(warmup):
    sess.run(fetch, feed)
  start = time.perf_counter()
  for _ in range(steps):
    sess.run(fetch, feed)
  return batch_size * steps / (time.perf_counter() - start)


def bench(name, batch_size, num_frames, warmup, steps):
  """Returns (forward images/sec, training images/sec) for one network."""
  shape = _input_shape(name, batch_size, num_frames)
  feed_value = np.random.default_rng(0).uniform(-1, 1, shape).astype(
      np.float32)
  results = []
  for is_training in (False, True):
    with tf.Graph().as_default():
      slim.get_or_create_global_step()
      images = tf1.placeholder(tf.float32, shape)
      logits, _ = nets_factory.get_network_fn(
          name, 1001, weight_decay=4e-5, is_training=is_training)(images)
      fetch = logits
      if is_training:
        labels = tf.one_hot(tf.zeros([batch_size], tf.int32), 1001)
        slim.losses.softmax_cross_entropy(tf.reshape(logits, [batch_size, -1]),
                                          labels)
        fetch = slim.learning.create_train_op(
            slim.losses.get_total_loss(),
            tf1.train.GradientDescentOptimizer(0.01))
      with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        results.append(_images_per_sec(sess, fetch, {images: feed_value},
                                       batch_size, warmup, steps))
  return tuple(results)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--models', default='all',
                      help='comma-separated network names, or "all"')
  parser.add_argument('--batch_size', type=int, default=2)
  parser.add_argument('--num_frames', type=int, default=16,
                      help='frames of the video networks\' input')
  parser.add_argument('--warmup', type=int, default=1)
  parser.add_argument('--steps', type=int, default=3)
  args = parser.parse_args()
  names = sorted(NETWORKS) if args.models == 'all' else [
      n.strip() for n in args.models.split(',')]
  unknown = [n for n in names if n not in NETWORKS]
  if unknown:
    parser.error(f'unknown network(s) {unknown}; valid: {sorted(NETWORKS)}')
  print(f'batch {args.batch_size}, {os.cpu_count()} CPU cores, '
        f'TensorFlow {tf.__version__}')
  print(f'{"network":34s} {"size":>5s} {"forward img/s":>14s} '
        f'{"train img/s":>12s}')
  for name in names:
    forward, train = bench(name, args.batch_size, args.num_frames,
                           args.warmup, args.steps)
    print(f'{name:34s} {NETWORKS[name].default_image_size:5d} '
          f'{forward:14.1f} {train:12.1f}', flush=True)


if __name__ == '__main__':
  main()
