"""One record per dataset: its name, descriptor, converter and flags.

The original kept dataset names in three places that could drift: the
factory's map of descriptor modules, the converter script's map of
converters, and an if/elif choosing each converter's arguments. Here each
dataset is one `DatasetRecord`; `dataset_factory.datasets_map` and
`download_and_convert_data.py` (its `--dataset_name` help, the converter it
imports, the flags it passes) are derived from `DATASETS`.

Modules are named, not imported: `download_and_convert_data.py --help` stays
instant, and the worker processes a converter spawns, which re-import that
script, do not load every converter and TensorFlow dataset module.
"""
import dataclasses
import importlib
import inspect
from typing import Tuple

from datasets.errors import DatasetError

__all__ = ['DatasetRecord', 'DATASETS', 'NAMES', 'get_record',
           'record_problems']

# (keyword of the converter's `run`, flag of download_and_convert_data.py)
# pairs that several converters take.
_OUTPUT = (('dataset_dir', 'dataset_dir'), ('num_workers', 'num_workers'))
_DOWNLOAD = (('mirror', 'mirror'), ('verify_checksums', 'verify_checksums'),
             ('retries', 'download_retries'), ('scratch_dir', 'scratch_dir'))


@dataclasses.dataclass(frozen=True)
class DatasetRecord:
  """Everything the toolkit knows about a dataset, by module name.

  Attributes:
    name: the dataset name, as given to `--dataset_name`.
    descriptor_module: the module with `DESCRIPTOR` and `get_split` (what
      `dataset_factory.datasets_map[name]` is).
    converter_module: the module whose `run(dataset_dir, ...)` downloads or
      builds the dataset's records.
    converter_flags: (keyword of `run`, flag name) pairs: the flags of
      download_and_convert_data.py the converter takes, and as what.
    required_flags: (flag name, what to pass) pairs, for the flags without
      which the converter cannot run.
    substitute_flags: (flag name, required flag name) pairs: a flag that,
      when set, stands in for a required one (custom's --source_csv for
      --source_dir); the converter itself refuses both at once.
  """
  name: str
  descriptor_module: str
  converter_module: str
  converter_flags: Tuple[Tuple[str, str], ...]
  required_flags: Tuple[Tuple[str, str], ...] = ()
  substitute_flags: Tuple[Tuple[str, str], ...] = ()

  def descriptor(self):
    """Imports and returns the descriptor module."""
    return importlib.import_module(self.descriptor_module)

  def converter(self):
    """Imports and returns the converter module."""
    return importlib.import_module(self.converter_module)

  def converter_arguments(self, values):
    """The keyword arguments of the converter's `run`.

    Args:
      values: dict flag name -> value (download_and_convert_data.py's).

    Returns:
      A dict keyword -> value.

    Raises:
      DatasetError: a flag the converter needs is not set.
    """
    for flag, advice in self.required_flags:
      substitutes = [substitute for substitute, required
                     in self.substitute_flags if required == flag]
      if not any(values[name] for name in [flag] + substitutes):
        raise DatasetError(f'--{flag} is required with --dataset_name='
                           f'{self.name}: {advice}')
    return {keyword: values[flag] for keyword, flag in self.converter_flags}


# One row per dataset: name, descriptor module, converter module, the
# converter's (keyword, flag) pairs and, for custom, its required flag
# (--source_dir, or --source_csv in its place).
DATASETS = (
    DatasetRecord('cifar10', 'datasets.cifar10',
                  'datasets.download_and_convert_cifar10', _OUTPUT + _DOWNLOAD),
    DatasetRecord('custom', 'datasets.custom', 'datasets.convert_custom',
                  _OUTPUT + (('source_dir', 'source_dir'),
                             ('validation_fraction', 'validation_fraction'),
                             ('num_shards', 'num_shards'), ('seed', 'seed'),
                             ('max_image_pixels', 'max_image_pixels'),
                             ('min_image_side', 'min_image_side'),
                             ('source_csv', 'source_csv'),
                             ('labels_file', 'labels_file')),
                  required_flags=(('source_dir', 'pass a folder with one '
                                   'subfolder of images per class'),),
                  substitute_flags=(('source_csv', 'source_dir'),)),
    DatasetRecord('flowers', 'datasets.flowers',
                  'datasets.download_and_convert_flowers',
                  _OUTPUT + _DOWNLOAD + (('seed', 'seed'),)),
    DatasetRecord('imagenet', 'datasets.imagenet',
                  'datasets.build_imagenet_data',
                  _OUTPUT + (('train_path', 'imagenet_train_tar'),
                             ('validation_path', 'imagenet_val_tar'),
                             ('validation_labels', 'imagenet_val_labels'),
                             ('bbox_sources', 'imagenet_bbox'),
                             ('metadata_path', 'imagenet_metadata'),
                             ('train_shards', 'imagenet_train_shards'),
                             ('validation_shards',
                              'imagenet_validation_shards'),
                             ('seed', 'seed'))),
    DatasetRecord('mnist', 'datasets.mnist',
                  'datasets.download_and_convert_mnist', _OUTPUT + _DOWNLOAD),
    DatasetRecord('shapes', 'datasets.shapes', 'datasets.convert_shapes',
                  _OUTPUT + (('num_shards', 'num_shards'), ('seed', 'seed'))),
    DatasetRecord('shapes_multi', 'datasets.shapes_multi',
                  'datasets.convert_shapes_multi',
                  _OUTPUT + (('num_shards', 'num_shards'), ('seed', 'seed'))),
    DatasetRecord('visualwakewords', 'datasets.visualwakewords',
                  'datasets.download_and_convert_visualwakewords',
                  _OUTPUT + (('coco_dir', 'coco_dir'),
                             ('small_object_area_threshold',
                              'small_object_area_threshold'),
                             ('foreground_class_of_interest',
                              'foreground_class_of_interest'))),
)

NAMES = tuple(sorted(record.name for record in DATASETS))

_BY_NAME = {record.name: record for record in DATASETS}


def get_record(name):
  """Returns the `DatasetRecord` of dataset `name`, or None if unknown."""
  return _BY_NAME.get(name)


def record_problems(record, flag_names):
  """What is wrong with a record: a missing or mismatched module or flag.

  Imports both modules. For the tests, so that a dataset added to the record
  without its descriptor, its converter or its flags fails there rather than
  in a user's hands.

  Args:
    record: a `DatasetRecord`.
    flag_names: the flags download_and_convert_data.py defines.

  Returns:
    A list of sentences, empty if the record is sound.
  """
  problems = []
  try:
    descriptor = record.descriptor()
  except ImportError as e:
    problems.append(f'{record.name}: no descriptor module ({e})')
  else:
    if not callable(getattr(descriptor, 'get_split', None)):
      problems.append(f'{record.name}: {record.descriptor_module} has no '
                      'get_split')
    elif getattr(descriptor, 'DESCRIPTOR', None) is None:
      problems.append(f'{record.name}: {record.descriptor_module} has no '
                      'DESCRIPTOR')
    elif descriptor.DESCRIPTOR.name != record.name:
      problems.append(f'{record.name}: {record.descriptor_module} describes '
                      f'{descriptor.DESCRIPTOR.name!r}')
  try:
    run = record.converter().run
  except (ImportError, AttributeError) as e:
    problems.append(f'{record.name}: no converter run ({e})')
  else:
    keywords = [keyword for keyword, _ in record.converter_flags]
    try:
      inspect.signature(run).bind(**dict.fromkeys(keywords))
    except TypeError as e:
      problems.append(f'{record.name}: {record.converter_module}.run does '
                      f'not take {keywords}: {e}')
  flags_used = ({flag for _, flag in record.converter_flags}
                | {flag for flag, _ in record.required_flags}
                | {flag for pair in record.substitute_flags for flag in pair})
  for flag in sorted(flags_used - set(flag_names)):
    problems.append(f'{record.name}: no flag --{flag}')
  return problems
