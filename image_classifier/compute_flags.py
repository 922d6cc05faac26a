"""How a script computes: --precision, thread counts and XLA.

Shared by the scripts that run a network. float32 (the default) builds
exactly the graphs it always did; bfloat16 and float16 train and evaluate
in mixed precision (`slim.precision`): float32 variables and checkpoints,
low-precision arithmetic. The thread counts default to TensorFlow's choice
(0), and XLA is off by default: on the CPUs measured, neither beat the
defaults (docs/benchmarks.md).
"""
import os

from absl import flags
from absl import logging
import tensorflow as tf

from image_classifier import cli
from slim import precision as slim_precision


def define_compute_flags(module_name):
  """Defines --precision, --intra_op_threads, --inter_op_threads and --xla
  on the global FLAGS as flags of `module_name`.

  Args:
    module_name: the defining script's `__name__`, so that the flags are
      listed (and recorded) with the script's own.
  """
  module_name = cli.flags_module_name(module_name)
  define_precision_flag(module_name)
  flags.DEFINE_integer('intra_op_threads', 0, 'Threads one op may use; 0 '
                       'lets TensorFlow choose (the core count) (new).',
                       module_name=module_name)
  flags.DEFINE_integer('inter_op_threads', 0, 'Ops run at once; 0 lets '
                       'TensorFlow choose (new).', module_name=module_name)
  flags.DEFINE_boolean('xla', False, 'Compile the graph with XLA (JIT), '
                       'for GPUs: TensorFlow ignores it on CPUs unless '
                       'TF_XLA_FLAGS=--tf_xla_cpu_global_jit, and there it '
                       'ran slower (new).', module_name=module_name)


def define_precision_flag(module_name):
  """Defines --precision alone (for the export scripts, which run
  nothing)."""
  flags.DEFINE_enum(
      'precision', 'float32', sorted(slim_precision.PRECISIONS),
      'Arithmetic of the network: float32, or mixed precision with '
      'bfloat16 (CPUs with AVX512-BF16/AMX, recent GPUs) or float16 (GPUs; '
      'with dynamic loss scaling when training). Variables and checkpoints '
      'stay float32 (new).', module_name=cli.flags_module_name(module_name))


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


def session_config(values, config=None):
  """`config` (a new ConfigProto if None) with the flags' threads and XLA.

  Args:
    values: flag values with intra_op_threads, inter_op_threads and xla
      (values without them leave the config as it is).
    config: a tf.compat.v1.ConfigProto to complete.
  """
  config = config if config is not None else tf.compat.v1.ConfigProto()
  config.intra_op_parallelism_threads = getattr(values, 'intra_op_threads', 0)
  config.inter_op_parallelism_threads = getattr(values, 'inter_op_threads', 0)
  if getattr(values, 'xla', False):
    config.graph_options.optimizer_options.global_jit_level = (
        tf.compat.v1.OptimizerOptions.ON_1)
  return config
