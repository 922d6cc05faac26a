"""Installing signal handlers for a block of code, the one place that does.

`slim.learning.train` turns SIGTERM into a graceful stop, and the scripts
note SIGINT/SIGTERM for their exit status or turn them into
KeyboardInterrupt. Each installs its handlers for the duration of a `with`
and puts the previous ones back after, so the handlers nest: an inner one
may chain to the outer one it replaced, which then still hears of the
signal.

Python installs handlers only in the main thread; elsewhere `handling`
installs nothing (a library called from a worker thread keeps working,
without the signal handling).
"""
import contextlib
import signal
import threading

__all__ = ['handling', 'ignore']


def _chained(handler, previous):
  """`handler`, then `previous` when it is a Python handler (not SIG_DFL,
  SIG_IGN or None, which Python cannot call)."""
  if not callable(previous):
    return handler

  def both(signum, frame):
    handler(signum, frame)
    previous(signum, frame)

  return both


@contextlib.contextmanager
def handling(handlers, chain=False):
  """Installs `handlers` inside the block and restores the previous ones.

  Args:
    handlers: {signal number: handler(signum, frame)}.
    chain: whether each handler, after it returns, calls the handler it
      replaced (when that is a Python function), so an enclosing block's
      handler still hears of the signal. A handler that raises (e.g.
      KeyboardInterrupt) ends the chain.

  Yields:
    Whether the handlers were installed: False outside the main thread.
  """
  if threading.current_thread() is not threading.main_thread():
    yield False
    return
  previous = {}
  try:
    for signum, handler in handlers.items():
      current = signal.getsignal(signum)
      previous[signum] = signal.signal(
          signum, _chained(handler, current) if chain else handler)
    yield True
  finally:
    for signum, handler in previous.items():
      signal.signal(signum, handler)


def ignore(signum):
  """Ignores `signum` from now on in this process (e.g. SIGINT in a pool
  worker, whose parent handles Ctrl-C once)."""
  signal.signal(signum, signal.SIG_IGN)
