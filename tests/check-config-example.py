#!/usr/bin/env python3
# check-config-example.py ED-CONFIG-C CONF-EXAMPLE
# Every key eventdeskd accepts (known_keys in ed-config.c) is in the example
# configuration, set or commented out, with a comment above it; and the
# example has no key the daemon would refuse.
import re
import sys

config_c, example = sys.argv[1], sys.argv[2]

source = open(config_c, encoding='utf-8').read()
match = re.search(r'known_keys\[\]\s*=\s*\{(.*?)\};', source, re.S)
if not match:
    sys.exit(f'{config_c}: no known_keys[] array found')
known = re.findall(r'"([a-z0-9-]+)"', match.group(1))
if not known:
    sys.exit(f'{config_c}: known_keys[] is empty')

lines = open(example, encoding='utf-8').read().splitlines()
documented = {}
for number, line in enumerate(lines):
    m = re.match(r'^#?([a-z0-9-]+)=', line)
    if m:
        documented[m.group(1)] = number

failures = []
for key in known:
    if key not in documented:
        failures.append(f'{example}: key "{key}" is not there (as {key}=… or #{key}=…)')
    elif documented[key] == 0 or not lines[documented[key] - 1].startswith('#'):
        failures.append(f'{example}:{documented[key] + 1}: key "{key}" has no comment above it')
for key, number in documented.items():
    if key not in known:
        failures.append(f'{example}:{number + 1}: key "{key}" is not one eventdeskd knows')

for failure in failures:
    print(failure, file=sys.stderr)
print(f'{len(known)} keys, {len(known) - len(failures)} documented')
sys.exit(1 if failures else 0)
