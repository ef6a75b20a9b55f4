"""Where broadcast.py's sender spends its CPU beside the ceiling: a sampling profile by cause.

    py-spy record -r 1000 --nonblocking --subprocesses --format raw -o var/bench/spy.txt -- \\
        .venv/bin/python bench/broadcast.py --count 20000
    .venv/bin/python bench/spy_split.py var/bench/spy.txt --count 20000 --rate 1000

py-spy (a dev dependency) samples the stacks of the bench process and of the ceiling's child
without slowing them down per call, as cProfile does (its CPU clock makes the delivery ~4× slower
and charges every call the same overhead: asyncio's many small calls look far costlier than
they are). Each sample of the delivery phase (a stack through `deliver`) or of the ceiling's
sending (its event loop) is charged to one cause, from the innermost frame out; samples idle in
the event loop's `select` are left out. Prints µs per message for each cause, both sides.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# Innermost-first: the first of these found in a stack (searched leaf to root) names the cause.
_SENDER_PARTS = (
    ("Sender._record", "outcome writes"),
    ("Sender._claim", "claims (and body loads)"),
    ("Holding.renew", "lease fence: renewals"),
    ("Sender._mine", "lease fence: per-message check"),
    ("mail/compose.py", "composing (per-recipient headers + shared part)"),
    ("mail/headers.py", "composing (per-recipient headers + shared part)"),
    ("SmtpChannel.", "Channel indirection (SmtpChannel)"),
    ("transaction (sangsaeng/mail/connection.py", "transaction(): MAIL/RCPT framing"),
    ("Sender._finish", "sender plumbing: outcome bookkeeping"),
    ("Sender._writer", "sender plumbing: writer task"),
    ("Sender._gathered", "sender plumbing: writer task"),
    ("Sender._send", "sender plumbing: worker"),
    ("Sender._worker", "sender plumbing: worker"),
    ("Sender._feed", "sender plumbing: feeder"),
    ("Sender.run", "sender plumbing: start and end of the run"),
)
_DRIVER = ("do_executemany", "do_execute", "do_commit", "fetchall")


def cause(frames: list[str]) -> str | None:
    """The cause a sample is charged to (None: idle in `select`)."""
    if not frames:
        return None
    leaf = frames[-1]
    if "select (selectors.py" in leaf:
        return None
    stack = ";".join(frames)
    if "aiosmtplib/" in stack:
        if "email/" in stack:
            return "aiosmtplib: parseaddr (sendmail's)"
        if "normalize_message_line_endings" in stack:
            return "aiosmtplib: line-ending normalisation"
        return "aiosmtplib: commands, replies, timeouts, DATA"
    for key, label in _SENDER_PARTS:
        if key in stack:
            if label in ("outcome writes", "claims (and body loads)"):
                if any(name in leaf for name in _DRIVER):
                    return f"{label}: SQLite (the driver's call)"
                if "sangsaeng/" in leaf:
                    return f"{label}: our code (statements' values, bind types)"
                return f"{label}: SQLAlchemy"
            return label
    if "_read_ready" in stack:
        return "event loop: socket reads"
    return "event loop: scheduling"


# Frames that only the sending phases run (a sample taken while the process runs may come back
# without its outer frames: it is kept when one of these shows which phase it was in).
_SENDING = ("asyncio/", "aiosmtplib/", "mail/sender.py", "mail/connection.py", "mail/leases.py")


def _in_phase(side: str, stack: str) -> bool:
    """The sample was taken in the delivery (bench process) or in the ceiling's sending (its
    child: it builds the messages first, without an event loop)."""
    if side == "delivery" and "deliver (broadcast.py" in stack:
        return True
    if "<module> (broadcast.py" in stack and "ceiling_child (broadcast.py" not in stack:
        return False  # a whole stack of another phase of the bench process
    return any(part in stack for part in _SENDING)


def split(path: Path) -> dict[str, Counter[str]]:
    """Samples per cause for the delivery and the ceiling."""
    out: dict[str, Counter[str]] = {"delivery": Counter(), "ceiling": Counter()}
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")
            processes = [f for f in frames if f.startswith("process ")]
            frames = frames[len(processes):]
            side = "ceiling" if len(processes) > 1 else "delivery"
            if not _in_phase(side, ";".join(frames)):
                continue
            what = cause(frames)
            if what is not None:
                out[side][what] += int(count)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="py-spy's --format raw output")
    parser.add_argument("--count", type=int, required=True, help="messages of the run")
    parser.add_argument("--rate", type=float, default=100.0, help="py-spy's -r (default 100)")
    args = parser.parse_args()
    per_message = 1e6 / args.rate / args.count  # µs per sample per message
    for side, causes in split(args.raw).items():
        total = sum(causes.values())
        print(f"\n{side}: {total:,} samples, {total * per_message:.1f} µs/message")
        for what, samples in causes.most_common():
            print(f"  {samples * per_message:7.1f} µs/msg {100 * samples / total:5.1f} %  {what}")


if __name__ == "__main__":
    main()
