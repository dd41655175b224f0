"""The differential harness: the same langgraph_sdk calls against LangGraph's own server (`langgraph dev`)
and against `hitl serve`, serving the same graph source (hil_graphs.py.txt, only its import line swapped)."""
