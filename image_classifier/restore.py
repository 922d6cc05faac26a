"""Reading a checkpoint into a graph: what it must hold, whether it fits,
and the quantized inference rewrite that quantization-aware checkpoints need.

Evaluation, the exports and classify_images.py each restore a trained
checkpoint into a graph they build, and training resumes from one. They
share three answers, worked out here once:

- `variables_to_restore`: the {name in the checkpoint: variable} a
  checkpoint must hold for the graph just built (the moving averages'
  names with a decay; the fake-quant ranges of a quantized graph).
- `check_checkpoint_fits` (or `misfit_message` for a caller that raises
  its own error): the checkpoint reads whole and holds every variable in
  its graph shape; else one line, ending in advice that `model_advice` or
  `resume_advice` composes from what the user chose.
- `quantize_inference_graph`: the rewrite after the network, failing in
  one line for a network that cannot be quantized.
"""
import tensorflow as tf

import slim
from image_classifier import cli

tf1 = tf.compat.v1


def variables_to_restore(moving_average_decay=None, global_step=None):
  """What a checkpoint must hold for the graph built in the default graph.

  In this order: the model variables (under their moving averages' names
  with `moving_average_decay`: training averages exactly those), the
  fake-quant ranges of a graph `quantize_inference_graph` rewrote (read
  from slim.quantize's collection, never averaged), then `global_step`.

  Args:
    moving_average_decay: restore the model variables from the moving
      averages training kept with this decay; None (or 0) restores the
      weights themselves.
    global_step: the global step variable, if the graph has one to restore.

  Returns:
    {name in the checkpoint: variable}.
  """
  model_variables = slim.get_model_variables()
  if moving_average_decay:
    averages = tf1.train.ExponentialMovingAverage(moving_average_decay)
    names = [averages.average_name(v) for v in model_variables]
  else:
    names = [v.op.name for v in model_variables]
  variables = dict(zip(names, model_variables))
  variables.update((v.op.name, v) for v in slim.quantize.range_variables())
  if global_step is not None:
    variables[global_step.op.name] = global_step
  return variables


def quantize_inference_graph(model_name):
  """Rewrites the network just built in the default graph as for
  evaluation after quantization-aware training
  (`slim.quantize.create_eval_graph`): batch norms folded, fake-quant ops
  reading the trained ranges.

  Args:
    model_name: the network's name, for the message.

  Raises:
    cli.UserError: naming the layer, for a network it cannot quantize.
  """
  try:
    slim.quantize.create_eval_graph()
  except slim.quantize.UnsupportedLayerError as e:
    cli.fail(f'--quantize: --model_name={model_name} cannot be quantized: '
             f'{e}')


def model_advice(model_name, moving_average_decay=None, quantize=False):
  """The sentence that ends a misfit message of a trained model's
  checkpoint: the flags that must be those it was trained with.

  Args:
    model_name: the --model_name the graph was built for.
    moving_average_decay: the --moving_average_decay read, if any.
    quantize: whether the graph is quantized (--quantize).
  """
  return (f'Check --model_name={model_name}, --dataset_name and '
          '--labels_offset'
          + ('; --moving_average_decay needs a checkpoint trained with it'
             if moving_average_decay else '')
          + ('; --quantize needs a checkpoint trained with '
             'train_image_classifier.py --quantize_delay' if quantize else '')
          + '.')


def resume_advice(flags_filename):
  """The sentence that ends the message of a --train_dir whose checkpoint
  does not fit the graph training built.

  Args:
    flags_filename: the name of the record of the flags the run was
      trained with, in --train_dir.
  """
  return (f'Resume with the flags it was trained with ({flags_filename} '
          'there), or train in a new --train_dir (fine-tune from it with '
          '--checkpoint_path and --checkpoint_exclude_scopes).')


def misfit_message(checkpoint_path, variables, what, advice):
  """Why the checkpoint cannot restore `variables`, in one line; None if it
  can (see `slim.variables.checkpoint_fit_problems`).

  Args:
    checkpoint_path: a checkpoint prefix.
    variables: a list of variables, or {name in checkpoint: variable}.
    what: how the message starts, e.g. '--checkpoint_path=/x/model.ckpt-9'.
    advice: the sentence that ends the message (what to do).
  """
  problems = slim.variables.checkpoint_fit_problems(checkpoint_path,
                                                    variables)
  if not problems:
    return None
  return f'{what} does not fit the model ({"; ".join(problems)}). {advice}'


def check_checkpoint_fits(checkpoint_path, variables, what, advice):
  """Fails with one line unless the checkpoint can be read whole and holds
  every variable, shaped as in the graph (see
  `slim.variables.check_checkpoint_readable` and `misfit_message`).

  Args:
    checkpoint_path: a checkpoint prefix.
    variables: a list of variables, or {name in checkpoint: variable}.
    what: how the message starts, e.g. '--checkpoint_path=/x/model.ckpt-9'.
    advice: the sentence that ends the message (what to do).

  Raises:
    cli.UserError: naming the truncated or corrupt file, or the mismatched
      and missing variables.
  """
  with cli.user_input(what):
    slim.variables.check_checkpoint_readable(checkpoint_path)
  message = misfit_message(checkpoint_path, variables, what, advice)
  if message:
    cli.fail(message)


def check_resume_fits(checkpoint_path, train_dir, flags_filename):
  """Fails with one line unless training can resume from the checkpoint in
  its --train_dir: it must hold every global variable of the graph built.

  Args:
    checkpoint_path: the latest checkpoint in `train_dir`.
    train_dir: the --train_dir.
    flags_filename: the record of the flags the run was trained with.

  Raises:
    cli.UserError: naming the mismatched and missing variables.
  """
  check_checkpoint_fits(
      checkpoint_path, tf1.global_variables(),
      f'--train_dir={train_dir} holds {checkpoint_path}, which',
      resume_advice(flags_filename))
