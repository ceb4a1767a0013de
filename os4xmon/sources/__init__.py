"""The readers of the host: the process table, listening sockets (netlink, /proc/net), CAPI, port
ranges.
"""
