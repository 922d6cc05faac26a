"""What the entry points decided, as typed records that travel below them.

The scripts (and the tools that are scripts) turn their flags into these
frozen dataclasses (`flag_groups`) and pass them down; no module under
image_classifier/, deployment/, tools/ or slim/ reads a flag object. Each
record groups the facts one stage needs, so a stage's signature says what
it depends on, and a test builds one with a keyword per field.
"""
import dataclasses
from typing import Optional


@dataclasses.dataclass(frozen=True)
class DataSpec:
  """Which examples: a split of a dataset in a folder.

  Attributes:
    dataset_name: a name of datasets/registry.py.
    dataset_dir: the folder holding its TFRecords (and meta file); None
      where nothing is read.
    split_name: the split, e.g. 'train'; None where no split is read.
    labels_offset: subtracted from every dataset label to give the
      network's class (1 for 1000-class networks on 1001-class ImageNet).
  """
  dataset_name: str
  dataset_dir: Optional[str] = None
  split_name: Optional[str] = None
  labels_offset: int = 0

  def with_split(self, split_name):
    """The same dataset's `split_name` split."""
    return dataclasses.replace(self, split_name=split_name)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """Which network, how it sees its images, and how it computes.

  Attributes:
    model_name: a name of nets/registry.py.
    preprocessing_name: the preprocessing; None uses the network's.
    use_grayscale: one grayscale input channel instead of 3.
    image_size: the square input size; None uses the network's default.
    precision: 'float32', 'bfloat16' or 'float16' (slim.precision).
    moving_average_decay: read (or keep) moving averages of the weights
      with this decay; None reads the weights themselves.
    quantize: build the quantized inference graph that
      quantization-aware training's checkpoints need.
  """
  model_name: str
  preprocessing_name: Optional[str] = None
  use_grayscale: bool = False
  image_size: Optional[int] = None
  precision: str = 'float32'
  moving_average_decay: Optional[float] = None
  quantize: bool = False


@dataclasses.dataclass(frozen=True)
class InputSpec:
  """How batches are read from TFRecords.

  Attributes:
    batch_size: examples per batch (per clone when training).
    num_preprocessing_threads: parallel preprocessing calls.
    max_bad_records: records whose image does not decode that may be
      skipped (counted and reported); 0 stops at the first.
    num_readers: TFRecord files read in parallel (training).
  """
  batch_size: int
  num_preprocessing_threads: int = 4
  max_bad_records: int = 0
  num_readers: int = 4


@dataclasses.dataclass(frozen=True)
class ComputeSpec:
  """How a session computes: its thread counts and XLA.

  Attributes:
    intra_op_threads: threads one op may use; 0 lets TensorFlow choose.
    inter_op_threads: ops run at once; 0 lets TensorFlow choose.
    xla: compile the graph with XLA (JIT).
  """
  intra_op_threads: int = 0
  inter_op_threads: int = 0
  xla: bool = False
