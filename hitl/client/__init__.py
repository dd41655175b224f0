"""The client side: starting runs, reading them, sending decisions, listing, streaming.

Everything that talks to Temporal as a client: `Client` and `Run` (client.py), batch
answers, streams, the inbox listing, which workers serve a queue, threads and their next
turns, and signed decision links. The public names are exported from `hitl` itself
(`hitl.connect`, `hitl.Client`, `hitl.Run`, ...); the modules here are internal.
"""
