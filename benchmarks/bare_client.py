"""The least a Python plugin could do with the summary query: the floor under check_os4x.

    python -I benchmarks/bare_client.py HOST PORT USER DATABASE QUERY

It logs in to MariaDB/MySQL (an empty password only), sends the query at once, imports
nagiosplugin while the server counts, then reads the rows and prints how many came: no options,
no SQL guard, no deadline, no evaluation, no output format, no maintained driver. Only the
benchmark runs it (``worstday.py queue``), to show what no real plugin can beat.
"""

import _socket
import sys

host, port, user, database, query = sys.argv[1:6]
connection = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
connection.connect((host, int(port)))
pending = bytearray()


def packet() -> bytes:
    while len(pending) < 4 or len(pending) < 4 + int.from_bytes(pending[:3], "little"):
        pending.extend(connection.recv(65536))
    length = int.from_bytes(pending[:3], "little")
    payload = bytes(pending[4:4 + length])
    del pending[:4 + length]
    return payload


def send(sequence: int, payload: bytes) -> None:
    connection.sendall(len(payload).to_bytes(3, "little") + bytes([sequence]) + payload)


packet()  # the greeting
# protocol 4.1, long password, with database, transactions, secure connection, plugin auth
capabilities = 0x1 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x80000
send(1, capabilities.to_bytes(4, "little") + (1 << 24).to_bytes(4, "little") + bytes([45])
     + bytes(23) + user.encode() + b"\0\0" + database.encode() + b"\0"
     + b"mysql_native_password\0")
if packet()[0] != 0:
    sys.exit("login refused")
send(0, b"\x03" + query.encode())
import nagiosplugin  # noqa: E402, F401 - while the server counts

columns = packet()[0]
for _ in range(columns + 1):  # the column definitions and their EOF
    packet()
rows = 0
while True:
    row = packet()
    if row[0] == 0xFE and len(row) < 9:
        break
    rows += 1
print(rows)
