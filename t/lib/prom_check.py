#!/usr/bin/python3
# Reads a Prometheus text exposition on stdin, parses it with the official
# client library's parser (a real parser, not a regex), and prints one line
# per sample, sorted: "name{label="v",...} value".  A parse error exits 1.
import sys

from prometheus_client.parser import text_string_to_metric_families

out = []
try:
    for family in text_string_to_metric_families(sys.stdin.read()):
        for s in family.samples:
            labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
            value = s.value
            if value == int(value):
                value = int(value)
            out.append("%s{%s} %s" % (s.name, labels, value))
except Exception as e:
    print("parse error: %s" % e)
    sys.exit(1)

print("\n".join(sorted(out)))
