#!/usr/bin/env python3
"""Writes shared/src/hours/zone_rules.rs: every IANA time zone name with its
current rule as a POSIX TZ string, read from the footer of the system's
compiled tz database (/usr/share/zoneinfo, Debian's tzdata package).

Why a table of rules instead of chrono-tz? chrono-tz compiles each zone's
full history into every component (about 650 KB of .wasm for Europe and the
Americas alone); the rules in force (a footer such as
"CET-1CEST,M3.5.0,M10.5.0/3") are a few dozen bytes a zone and cover every
instant from the zone's last rule change on, which is what ready-by times,
validity windows and return windows need.

Run it after a tzdata update and commit the result:
    apt-get install -y tzdata && infra/tz/generate-zone-rules.py
"""
import os
import struct
import subprocess
import sys

ROOT = "/usr/share/zoneinfo"
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "src", "hours", "zone_rules.rs")
SKIP_DIRS = {"posix", "right"}
SKIP_NAMES = {"localtime", "posixrules", "Factory"}


def footer(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"TZif") or data[4:5] not in (b"2", b"3", b"4"):
        return None
    lines = data.rstrip(b"\n").rsplit(b"\n", 1)
    return lines[-1].decode("ascii") if len(lines) == 2 else None


# Transitions from this instant on are kept explicitly where the footer
# cannot say them (Morocco's Ramadan switches are listed one by one).
EXPLICIT_FROM = 1735689600  # 2025-01-01T00:00:00Z


def explicit_transitions(path, rule):
    """(utc seconds, offset seconds) of the future transitions a zone lists
    one by one, when its footer has no daylight-saving rule to say them."""
    data = open(path, "rb").read()
    def header(at):
        return struct.unpack(">6l", data[at + 20:at + 44])
    isutc, isstd, leap, timecnt, typecnt, charcnt = header(0)
    at = 44 + timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isutc
    isutc, isstd, leap, timecnt, typecnt, charcnt = header(at)
    body = at + 44
    times = struct.unpack(">%dq" % timecnt, data[body:body + timecnt * 8])
    kinds = data[body + timecnt * 8:body + timecnt * 9]
    types = [struct.unpack(">lBB", data[body + timecnt * 9 + 6 * i:body + timecnt * 9 + 6 * i + 6]) for i in range(typecnt)]
    future = [i for i, t in enumerate(times) if t >= EXPLICIT_FROM]
    if "," in rule or len(future) <= 2:
        return []
    first = max(future[0] - 1, 0)
    return [(times[i], types[kinds[i]][0]) for i in range(first, len(times))]


def main():
    zones = {}
    for directory, dirs, files in os.walk(ROOT, followlinks=True):
        rel_dir = os.path.relpath(directory, ROOT)
        dirs[:] = [d for d in dirs if not (rel_dir == "." and d in SKIP_DIRS)]
        for name in files:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if name in SKIP_NAMES or "." in name and not name.startswith("GMT") or name.endswith(".tab"):
                continue
            path = os.path.join(directory, name)
            rule = footer(path)
            if rule is not None and rule != "":
                zones[rel] = (rule, explicit_transitions(path, rule))
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "tzdata"], capture_output=True, text=True).stdout
    with open(OUT, "w") as out:
        out.write("//! Every IANA time zone and the rule in force there, as a POSIX TZ string\n")
        out.write(f"//! (tzdata {version or 'unknown'}). Written by infra/tz/generate-zone-rules.py from the\n")
        out.write("//! system's /usr/share/zoneinfo; regenerate after a tzdata update. Sorted by\n")
        out.write("//! name for binary search. The third column lists, as (UTC seconds, offset\n")
        out.write("//! seconds), the transitions a zone's rule cannot express (Morocco's).\n\n")
        out.write("#[rustfmt::skip]\n")
        out.write("pub(super) const ZONES: &[(&str, &str, &[(i64, i64)])] = &[\n")
        for name in sorted(zones):
            rule, explicit = zones[name]
            listed = ", ".join(f"({t}, {o})" for t, o in explicit)
            out.write(f'    ("{name}", "{rule}", &[{listed}]),\n')
        out.write("];\n")
    print(f"{len(zones)} zones written to {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
