#!/bin/sh
# The compose frontend: start the stunnel client tunnel to host3's TLS
# terminator (127.0.0.33:2634, for plain-HTTP clients such as the pcipass
# CLI), run the suite's phases, stop the tunnel.
set -u
stunnel4 /srv/pcipass/tls/stunnel-client.conf >/tmp/tunnel.log 2>&1 &
tunnel=$!
i=0
until curl -s -o /dev/null --max-time 1 http://127.0.0.33:2634/ 2>/dev/null; do
	if [ $i -ge 100 ] || ! kill -0 "$tunnel" 2>/dev/null; then
		echo "frontend: the TLS tunnel on 127.0.0.33:2634 did not" \
		    "come up:" >&2
		cat /tmp/tunnel.log >&2
		kill "$tunnel" 2>/dev/null
		exit 1
	fi
	i=$((i + 1))
	sleep 0.1
done
/opt/pcipass-tests/run.sh --env /srv/pcipass/env "$@"
rc=$?
kill "$tunnel" 2>/dev/null
wait "$tunnel" 2>/dev/null
exit $rc
