"""The dataset, network and input flags that several entry points define.

train_image_classifier.py, eval_image_classifier.py, export_inference_graph.py
and classify_images.py each took --dataset_name, --model_name,
--labels_offset, --use_grayscale ... with copied help texts that drifted.
Each flag is defined here once; what differs between scripts (a default,
such as --dataset_split_name 'train' or 'test', or which flags a script has
at all) is a parameter. Names, types and defaults are the original scripts'
(compat/upstream_flags.md).

The `*_spec` functions turn a script's values of these flags into the
typed records of image_classifier/specs.py, which is all that modules below
the scripts see of them.

Like `compute_flags`, every define_ function takes the script's `module_name`
(`__name__`), so that the flags are listed under the script by --help and
recorded with its own flags (`flag_groups.module_flag_values`).
"""
from absl import flags

import flag_groups
from datasets import registry
from image_classifier import specs


def define_dataset_flags(module_name, dataset_name='imagenet',
                         dataset_dir=None, dataset_split_name=None):
  """Defines --dataset_name, --dataset_dir, --labels_offset and, where the
  script reads a split, --dataset_split_name.

  Args:
    module_name: the defining script's `__name__`.
    dataset_name: the default of --dataset_name.
    dataset_dir: the default of --dataset_dir.
    dataset_split_name: the default of --dataset_split_name; None for a
      script that reads no split (it then has no such flag).
  """
  module_name = flag_groups.flags_module_name(module_name)
  flags.DEFINE_string(
      'dataset_name', dataset_name,
      'The name of the dataset, one of: %s.' % ', '.join(registry.NAMES),
      module_name=module_name)
  flags.DEFINE_string(
      'dataset_dir', dataset_dir,
      'The directory holding the dataset files (to export or classify, read '
      'only for a dataset whose class count and names are stored there).',
      module_name=module_name)
  flags.DEFINE_integer(
      'labels_offset', 0,
      'Subtracted from every dataset label to give the network\'s class; 1 '
      'for 1000-class networks on 1001-class (background) data such as '
      'ImageNet.', module_name=module_name)
  if dataset_split_name is not None:
    flags.DEFINE_string('dataset_split_name', dataset_split_name,
                        'The split of the dataset to read.',
                        module_name=module_name)


def define_model_flags(module_name, model_name='inception_v3',
                       preprocessing=True, moving_average_decay=True,
                       quantize=True):
  """Defines --model_name and --use_grayscale, and those of
  --preprocessing_name, --moving_average_decay and --quantize that the
  script takes.

  Args:
    module_name: the defining script's `__name__`.
    model_name: the default of --model_name.
    preprocessing: whether the script preprocesses images.
    moving_average_decay: whether it keeps or reads moving averages of the
      weights.
    quantize: whether it reads what quantization-aware training
      (train_image_classifier.py --quantize_delay) wrote.
  """
  module_name = flag_groups.flags_module_name(module_name)
  flags.DEFINE_string('model_name', model_name,
                      'The name of the network (see nets/registry.py).',
                      module_name=module_name)
  flags.DEFINE_bool('use_grayscale', False,
                    'The network takes one grayscale channel instead of 3 '
                    '(images are converted in preprocessing).',
                    module_name=module_name)
  if preprocessing:
    flags.DEFINE_string('preprocessing_name', None,
                        'The preprocessing to use; None uses the '
                        'model_name\'s.', module_name=module_name)
  if moving_average_decay:
    flags.DEFINE_float(
        'moving_average_decay', None,
        'The decay of the moving averages of the weights: training keeps '
        'them, evaluating and classifying use them instead of the weights; '
        'None: no moving averages.', module_name=module_name)
  if quantize:
    flags.DEFINE_bool(
        'quantize', False,
        'Build the quantized graph of quantization-aware training (batch '
        'norms folded, 8-bit fake quantization), as a checkpoint trained '
        'with --quantize_delay needs.', module_name=module_name)


def define_export_flags(module_name):
  """Defines the flags of an exported inference graph, which
  export_inference_graph.py and tools/export_saved_model.py share: the
  network (--model_name, --use_grayscale, --quantize), the dataset that
  gives its class count (--dataset_name, --dataset_dir, --labels_offset),
  --image_size, --batch_size, --is_video_model and --num_frames.
  (--precision is compute_flags.define_precision_flag's.)"""
  define_model_flags(module_name, preprocessing=False,
                     moving_average_decay=False)
  define_dataset_flags(module_name, dataset_dir='')
  define_image_size_flag(module_name)
  module_name = flag_groups.flags_module_name(module_name)
  flags.DEFINE_integer('batch_size', None, 'Static batch size of the input; '
                       'None leaves it dynamic.', module_name=module_name)
  flags.DEFINE_bool('is_video_model', False, 'Whether the network takes '
                    '[batch, frames, height, width, channels] input.',
                    module_name=module_name)
  flags.DEFINE_integer('num_frames', None, 'Frames of a video model\'s '
                       'input.', module_name=module_name)


def define_image_size_flag(module_name, name='image_size'):
  """Defines the input size flag, named `name` (the original scripts say
  train_image_size, eval_image_size or image_size)."""
  module_name = flag_groups.flags_module_name(module_name)
  flags.DEFINE_integer(name, None,
                       'Input image size; None uses the network\'s default.',
                       module_name=module_name)


def define_input_flags(module_name, batch_size):
  """Defines --batch_size, --num_preprocessing_threads and
  --max_bad_records, for the scripts that read batches from TFRecords.

  Args:
    module_name: the defining script's `__name__`.
    batch_size: the default of --batch_size.
  """
  module_name = flag_groups.flags_module_name(module_name)
  flags.DEFINE_integer('batch_size', batch_size,
                       'The number of samples in each batch (per clone when '
                       'training).', module_name=module_name)
  flags.DEFINE_integer('num_preprocessing_threads', 4,
                       'Number of parallel preprocessing calls.',
                       module_name=module_name)
  flags.DEFINE_integer('max_bad_records', 0,
                       'Skip up to this many records whose image does not '
                       'decode (counted and reported); 0 stops at the first, '
                       'naming it.', module_name=module_name)




def _optional(values, name, default):
  """The value of flag `name`, or `default` for a script without it (the
  define_ functions above leave some flags out per script)."""
  return getattr(values, name, default)


def data_spec(values, split_name=None):
  """The DataSpec of --dataset_name, --dataset_dir, --labels_offset and
  --dataset_split_name (None for a script without it).

  Args:
    values: the script's flag values.
    split_name: a split to read instead of --dataset_split_name.
  """
  return specs.DataSpec(
      dataset_name=values.dataset_name, dataset_dir=values.dataset_dir or None,
      split_name=split_name or _optional(values, 'dataset_split_name', None),
      labels_offset=values.labels_offset)


def model_spec(values, image_size=None):
  """The ModelSpec of --model_name, --use_grayscale, --precision and those
  of --preprocessing_name, --moving_average_decay and --quantize that the
  script has.

  Args:
    values: the script's flag values.
    image_size: the value of the script's image size flag (named
      train_image_size, eval_image_size or image_size).
  """
  return specs.ModelSpec(
      model_name=values.model_name,
      preprocessing_name=_optional(values, 'preprocessing_name', None),
      use_grayscale=values.use_grayscale, image_size=image_size,
      precision=_optional(values, 'precision', 'float32'),
      moving_average_decay=_optional(values, 'moving_average_decay', None),
      quantize=_optional(values, 'quantize', False))


def input_spec(values):
  """The InputSpec of --batch_size, --num_preprocessing_threads,
  --max_bad_records and (training) --num_readers."""
  return specs.InputSpec(
      batch_size=values.batch_size,
      num_preprocessing_threads=values.num_preprocessing_threads,
      max_bad_records=values.max_bad_records,
      num_readers=_optional(values, 'num_readers', 4))
