"""The wire protocols: OFTP framing and messages, the port probe and session, X.509."""
