"""A training progress bar on a terminal: steps/sec, ETA, loss.

On a terminal (stderr a tty) training shows a tqdm bar over the global
steps, with the rate, the ETA and the last loss; elsewhere (a log file, a
pipe) there is no bar, and the log line every --log_every_n_steps carries
the same facts (`global step N: loss = L (S sec/step, E examples/sec),
lr = R, ETA h:mm:ss`, see slim.learning.train_step).

tqdm is imported with the first bar, so runs without a terminal (most
training runs) do not import it.
"""
import sys


class step_bar:  # pylint: disable=invalid-name
  """Context manager; its `step_callback` feeds `slim.learning.train`.

  `step_callback` is None (no bar) unless stderr is a terminal.
  """

  def __init__(self, total_steps, stream=None):
    self._stream = stream or sys.stderr
    self._total = total_steps
    self._bar = None
    self.step_callback = None
    if self._stream.isatty():
      self.step_callback = self._update

  def __enter__(self):
    return self

  def _update(self, global_step, loss, seconds):
    del seconds
    if self._bar is None:
      import tqdm  # pylint: disable=g-import-not-at-top
      self._bar = tqdm.tqdm(total=self._total, initial=global_step - 1,
                            unit='step', desc='train', file=self._stream,
                            dynamic_ncols=True)
    self._bar.update(global_step - self._bar.n)
    if loss is not None:
      self._bar.set_postfix(loss=f'{float(loss):.4f}', refresh=False)

  def __exit__(self, *exc_info):
    if self._bar is not None:
      self._bar.close()
