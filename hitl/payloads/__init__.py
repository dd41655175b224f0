"""How values travel through Temporal: the data converter, encryption, and big values as blobs.

converter.py builds the pydantic converter once per process; codec.py encrypts every payload
(AES-GCM, `python -m hitl.payloads.codec` makes a key); blobs.py keeps big payloads in a blob
store with a small reference in the history (Temporal's claim-check pattern), and blob_gc.py
is `hitl gc`, which deletes blobs no history names any more.
"""
