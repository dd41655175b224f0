"""Serve graphs on a Temporal task queue: `python worker.py [module:attr ...]`.

Default: the bundled example graphs (or HITL_GRAPHS). Start as many workers as
you like, on as many machines as you like: they share the task queue.
"""

from hitl.cli import worker_main

if __name__ == "__main__":
    worker_main()
