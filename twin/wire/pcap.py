"""A libpcap capture file writer (nanosecond timestamps, Ethernet frames).

The format Wireshark, tshark, tcpdump and scapy read: a 24-byte global header with magic
``0xa1b23c4d`` (nanosecond resolution), then per frame a 16-byte record header (seconds,
nanoseconds, captured length, original length) and the frame.
"""

from __future__ import annotations

import struct
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

MAGIC_NS = 0xA1B23C4D
LINKTYPE_ETHERNET = 1
SNAPLEN = 262_144


class PcapWriter:
    def __init__(self, path: str | Path, linktype: int = LINKTYPE_ETHERNET) -> None:
        self.path = Path(path)
        self.file: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        self.file.write(struct.pack("<IHHiIII", MAGIC_NS, 2, 4, 0, 0, SNAPLEN, linktype))
        self.frames = 0

    def write(self, time_ns: int, frame: bytes) -> None:
        data = frame[:SNAPLEN]
        sec, ns = divmod(time_ns, 1_000_000_000)
        self.file.write(struct.pack("<IIII", sec, ns, len(data), len(frame)) + data)
        self.frames += 1

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
