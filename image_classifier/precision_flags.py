"""The --precision flag, shared by the scripts that build a network.

float32 (the default) builds exactly the graphs it always did. bfloat16
and float16 train and evaluate in mixed precision (`slim.precision`):
float32 variables and checkpoints, low-precision arithmetic.
"""
from absl import flags
from absl import logging
import tensorflow as tf

from image_classifier import cli
from slim import precision as slim_precision


def define_precision_flag(module_name):
  """Defines --precision on the global FLAGS as a flag of `module_name`.

  Args:
    module_name: the defining script's `__name__`, so that the flag is
      listed (and recorded) with the script's own.
  """
  flags.DEFINE_enum(
      'precision', 'float32', sorted(slim_precision.PRECISIONS),
      'Arithmetic of the network: float32, or mixed precision with '
      'bfloat16 (CPUs with AVX512-BF16/AMX, recent GPUs) or float16 (GPUs; '
      'with dynamic loss scaling when training). Variables and checkpoints '
      'stay float32 (new).', module_name=module_name)


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
