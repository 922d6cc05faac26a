"""What a network's compute settings mean on this machine: whether a
precision or XLA can help here (one line, or a warning, where not), and the
session config that a specs.ComputeSpec asks for.
"""
import os

from absl import logging
import tensorflow as tf

from image_classifier import cli
from slim import precision as slim_precision


def check_precision(name):
  """Fails with one line where `name` would run slower than float32.

  bfloat16 on a CPU without native bfloat16 instructions is emulated: it
  says so and suggests float32. float16 on a CPU works but is slow: a
  warning.
  """
  if name == 'float32' or tf.config.list_physical_devices('GPU'):
    return
  if name == 'bfloat16' and not slim_precision.cpu_supports_bfloat16():
    cli.fail('--precision=bfloat16: this CPU has no bfloat16 instructions '
             '(AVX512-BF16 or AMX), so it would run slower than float32; use '
             '--precision=float32.')
  if name == 'float16':
    logging.warning('--precision=float16 on a CPU is emulated and slow; it '
                    'is meant for GPUs (bfloat16 suits CPUs that have it).')


def check_xla(enabled, environ=None):
  """Warns where --xla cannot help: no GPU, so TensorFlow's JIT does not run.

  On CPUs the session's global JIT level is ignored unless TF_XLA_FLAGS
  has --tf_xla_cpu_global_jit; with it, MobileNet v2 training at batch 16
  ran 11x slower than without (TF 2.21, docs/benchmarks.md).
  """
  environ = os.environ if environ is None else environ
  if not enabled or tf.config.list_physical_devices('GPU'):
    return
  if '--tf_xla_cpu_global_jit' in environ.get('TF_XLA_FLAGS', ''):
    logging.warning('--xla on a CPU (TF_XLA_FLAGS=--tf_xla_cpu_global_jit): '
                    'measured 11x slower than without it here.')
  else:
    logging.warning('--xla has no effect without a GPU: TensorFlow compiles '
                    'for CPUs only with TF_XLA_FLAGS=--tf_xla_cpu_global_jit, '
                    'which ran slower.')


def session_config(compute=None, config=None):
  """`config` (a new ConfigProto if None) with `compute`'s threads and XLA.

  Args:
    compute: a specs.ComputeSpec; None leaves the config as it is.
    config: a tf.compat.v1.ConfigProto to complete.
  """
  config = config if config is not None else tf.compat.v1.ConfigProto()
  if compute is None:
    return config
  config.intra_op_parallelism_threads = compute.intra_op_threads
  config.inter_op_parallelism_threads = compute.inter_op_threads
  if compute.xla:
    config.graph_options.optimizer_options.global_jit_level = (
        tf.compat.v1.OptimizerOptions.ON_1)
  return config
