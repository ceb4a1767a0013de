"""``os4x-event``: OS4X's own events as passive check results, the moment they happen.

OS4X runs a script at the end of every OFTP session (with the ESID reason), when a send queue
entry is blocked, and for its licence. Registered as that script, ``os4x-event`` turns the
event into a passive result of one service: Icinga 2 through its API
(``/v1/actions/process-check-result`` with a TTL), Nagios Core through its command file.

events.py decides (pure: event and arguments -> state, text, partner); config.py reads the INI
file; senders.py talks to the monitoring server; main.py runs it all within two seconds, logs
what went wrong to syslog and always exits 0: an event script must never harm OS4X.
"""
