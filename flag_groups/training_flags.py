"""train_image_classifier.py's flags, turned into the records its training
graph is built from (image_classifier/train_specs.py).

The script defines the flags; these functions read them, one record each,
naming every field, so that nothing below the script sees a flag object.
`augment_params` also serves the tools that take the same augmentation
flags (tools/dump_images.py, benchmarks/bench_input.py).
"""
from flag_groups import common_flags
from image_classifier import cli
from image_classifier import optimization
from image_classifier import train_specs
from preprocessing import augment


def augment_params(values):
  """The augment.AugmentParams of --randaugment_layers,
  --randaugment_magnitude, --random_erasing, --mixup_alpha and
  --cutmix_alpha; one line for a value out of its range."""
  with cli.user_input():
    return augment.AugmentParams(
        randaugment_layers=values.randaugment_layers,
        randaugment_magnitude=values.randaugment_magnitude,
        random_erasing=values.random_erasing,
        mixup_alpha=values.mixup_alpha, cutmix_alpha=values.cutmix_alpha)


def optimizer_params(values):
  """The optimization.OptimizerParams of the optimizers' flags."""
  return optimization.OptimizerParams(
      adadelta_rho=values.adadelta_rho,
      adagrad_initial_accumulator_value=(
          values.adagrad_initial_accumulator_value),
      adam_beta1=values.adam_beta1, adam_beta2=values.adam_beta2,
      opt_epsilon=values.opt_epsilon,
      ftrl_learning_rate_power=values.ftrl_learning_rate_power,
      ftrl_initial_accumulator_value=values.ftrl_initial_accumulator_value,
      ftrl_l1=values.ftrl_l1, ftrl_l2=values.ftrl_l2,
      momentum=values.momentum, rmsprop_momentum=values.rmsprop_momentum,
      rmsprop_decay=values.rmsprop_decay, nesterov=values.nesterov,
      adamw_weight_decay=values.adamw_weight_decay)


def schedule_params(values):
  """The optimization.ScheduleParams of the learning-rate flags."""
  return optimization.ScheduleParams(
      learning_rate=values.learning_rate,
      end_learning_rate=values.end_learning_rate,
      learning_rate_decay_factor=values.learning_rate_decay_factor,
      num_epochs_per_decay=values.num_epochs_per_decay,
      warmup_epochs=values.warmup_epochs)


def optimization_spec(values):
  """The train_specs.OptimizationSpec of --optimizer and its parameters,
  the learning-rate flags, --max_number_of_steps, --sync_replicas,
  --replicas_to_aggregate and --trainable_scopes."""
  return train_specs.OptimizationSpec(
      optimizer=values.optimizer, optimizer_params=optimizer_params(values),
      decay_type=values.learning_rate_decay_type,
      schedule=schedule_params(values),
      max_number_of_steps=values.max_number_of_steps,
      sync_replicas=values.sync_replicas,
      replicas_to_aggregate=values.replicas_to_aggregate,
      trainable_scopes=values.trainable_scopes)


def network_training(values):
  """The train_specs.NetworkTraining of --weight_decay,
  --batch_norm_decay, --label_smoothing and --quantize_delay."""
  return train_specs.NetworkTraining(
      weight_decay=values.weight_decay,
      batch_norm_decay=values.batch_norm_decay,
      label_smoothing=values.label_smoothing,
      quantize_delay=values.quantize_delay)


def validation_spec(values):
  """The train_specs.ValidationSpec of --validation_split_name,
  --validation_every_n_steps, --validation_every_n_secs and
  --keep_best_checkpoints."""
  return train_specs.ValidationSpec(
      split_name=values.validation_split_name,
      every_n_steps=values.validation_every_n_steps,
      every_n_secs=values.validation_every_n_secs,
      keep_best_checkpoints=values.keep_best_checkpoints)


def training_spec(values):
  """The train_specs.TrainingSpec of all the training flags.

  Raises:
    cli.UserError: for an augmentation flag out of its range.
  """
  return train_specs.TrainingSpec(
      data=common_flags.data_spec(values),
      model=common_flags.model_spec(values,
                                    image_size=values.train_image_size),
      inputs=common_flags.input_spec(values),
      network=network_training(values),
      optimization=optimization_spec(values),
      train_dir=values.train_dir, seed=values.seed,
      augmentation=augment_params(values),
      summaries=train_specs.SummarySpec(
          images=values.summarize_images,
          gradients=values.summarize_gradients),
      fine_tune=train_specs.FineTuneSpec(
          checkpoint_path=values.checkpoint_path,
          exclude_scopes=values.checkpoint_exclude_scopes,
          ignore_missing_vars=values.ignore_missing_vars),
      validation=validation_spec(values))
