"""The records that train_image_classifier.py builds its training graph from.

The shared records (data, model, input) are image_classifier/specs.py's;
these frozen dataclasses hold the facts that only training has: how the
trained network is built, the optimizer chain, fine-tuning, summaries,
validation, and where the graph goes (`Placement`, from the script's
deployment). `TrainingSpec` bundles them for training.build_training_graph.
The script turns its flags into them (flag_groups/training_flags.py).
"""
import dataclasses
from typing import Optional

from deployment import model_deploy
from image_classifier import optimization
from image_classifier import specs
from preprocessing import augment


def split_scopes(value):
  """The scopes of a comma-separated list (None or '' gives [])."""
  return [s.strip() for s in (value or '').split(',') if s.strip()]


@dataclasses.dataclass(frozen=True)
class NetworkTraining:
  """How the trained network is built, and its loss.

  Attributes:
    weight_decay: the L2 regularization of the model weights.
    batch_norm_decay: the decay of every batch norm's moving statistics;
      None keeps the network's own.
    label_smoothing: the amount of label smoothing of the loss.
    quantize_delay: the step at which quantization-aware training starts;
      -1: no quantization.
  """
  weight_decay: float = 0.00004
  batch_norm_decay: Optional[float] = None
  label_smoothing: float = 0.0
  quantize_delay: int = -1


@dataclasses.dataclass(frozen=True)
class OptimizationSpec:
  """The optimizer chain: schedule, optimizer, replicas and the step limit.

  Attributes:
    optimizer: a name of optimization.OPTIMIZER_NAMES.
    optimizer_params: its optimization.OptimizerParams.
    decay_type: a name of optimization.SCHEDULE_NAMES.
    schedule: its optimization.ScheduleParams.
    max_number_of_steps: the last global step; None trains forever.
    sync_replicas: aggregate `replicas_to_aggregate` gradients per update
      (tf1.train.SyncReplicasOptimizer).
    replicas_to_aggregate: gradients per update with sync_replicas.
    trainable_scopes: comma-separated scopes of the variables to train;
      None trains all.
  """
  optimizer: str
  optimizer_params: optimization.OptimizerParams
  decay_type: str
  schedule: optimization.ScheduleParams
  max_number_of_steps: Optional[int] = None
  sync_replicas: bool = False
  replicas_to_aggregate: int = 1
  trainable_scopes: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class FineTuneSpec:
  """Where the first weights come from when train_dir has no checkpoint.

  Attributes:
    checkpoint_path: a checkpoint file or folder (or another run's best/);
      None starts from the initializers.
    exclude_scopes: comma-separated scopes of variables not restored.
    ignore_missing_vars: skip variables the checkpoint lacks.
  """
  checkpoint_path: Optional[str] = None
  exclude_scopes: Optional[str] = None
  ignore_missing_vars: bool = False


@dataclasses.dataclass(frozen=True)
class SummarySpec:
  """The optional TensorBoard summaries: input images and gradients."""
  images: bool = False
  gradients: bool = False


@dataclasses.dataclass(frozen=True)
class ValidationSpec:
  """Validation while training (on the chief).

  Attributes:
    split_name: the split validated; None: no validation.
    every_n_steps: validate when the global step is a multiple of this; 0
      uses every_n_secs.
    every_n_secs: validate when this many seconds passed since the last.
    keep_best_checkpoints: copies of the N best checkpoints to keep.
  """
  split_name: Optional[str] = None
  every_n_steps: int = 0
  every_n_secs: int = 600
  keep_best_checkpoints: int = 0


@dataclasses.dataclass(frozen=True)
class TrainingSpec:
  """Everything the training graph is built from, but where it runs.

  Attributes:
    data: the specs.DataSpec of the training split.
    model: the specs.ModelSpec (image_size: the training input size).
    inputs: the specs.InputSpec (batch_size per clone).
    network: the NetworkTraining.
    optimization: the OptimizationSpec.
    train_dir: the training folder (a checkpoint there wins over
      fine_tune).
    seed: the graph-level random seed; None: not reproducible.
    augmentation: the augment.AugmentParams of the training batches.
    summaries, fine_tune, validation: the SummarySpec, FineTuneSpec and
      ValidationSpec.
  """
  data: specs.DataSpec
  model: specs.ModelSpec
  inputs: specs.InputSpec
  network: NetworkTraining
  optimization: OptimizationSpec
  train_dir: str
  seed: Optional[int] = None
  augmentation: augment.AugmentParams = augment.AugmentParams()
  summaries: SummarySpec = SummarySpec()
  fine_tune: FineTuneSpec = FineTuneSpec()
  validation: ValidationSpec = ValidationSpec()


@dataclasses.dataclass(frozen=True)
class Placement:
  """Where this process's graph goes (from the script's Deployment).

  Attributes:
    config: its model_deploy.DeploymentConfig (clones and devices).
    replica_id: this worker's replica; 0 is the chief.
    num_replicas: the number of worker replicas.
    distributed: several replicas or parameter servers share the model.
    cluster: the deployment.cluster.Cluster, or None without one.
    collective: the deployment.all_reduce.CollectiveGroup of an all-reduce
      worker (its gradients averaged with the other workers'), else None.
  """
  config: model_deploy.DeploymentConfig
  replica_id: int = 0
  num_replicas: int = 1
  distributed: bool = False
  cluster: object = None
  collective: object = None

  @property
  def is_chief(self):
    return self.replica_id == 0
