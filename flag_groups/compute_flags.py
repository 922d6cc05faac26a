"""The flags of how a script computes: --precision, thread counts and XLA.

Shared by the scripts that run a network. float32 (the default) builds
exactly the graphs it always did; bfloat16 and float16 train and evaluate
in mixed precision (`slim.precision`): float32 variables and checkpoints,
low-precision arithmetic. The thread counts default to TensorFlow's choice
(0), and XLA is off by default: on the CPUs measured, neither beat the
defaults (docs/benchmarks.md).
"""
from absl import flags

import flag_groups
from image_classifier import specs
from slim import precision as slim_precision


def define_compute_flags(module_name):
  """Defines --precision, --intra_op_threads, --inter_op_threads and --xla
  on the global FLAGS as flags of `module_name`.

  Args:
    module_name: the defining script's `__name__`, so that the flags are
      listed (and recorded) with the script's own.
  """
  module_name = flag_groups.flags_module_name(module_name)
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
      'stay float32 (new).', module_name=flag_groups.flags_module_name(module_name))


def compute_spec(values):
  """The ComputeSpec of a script's --intra_op_threads, --inter_op_threads
  and --xla."""
  return specs.ComputeSpec(intra_op_threads=values.intra_op_threads,
                           inter_op_threads=values.inter_op_threads,
                           xla=values.xla)
