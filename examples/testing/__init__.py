"""An example of testing one's own graph with hitl's pytest plugin (`hitl.testing`): docs/testing-your-graphs.md."""
