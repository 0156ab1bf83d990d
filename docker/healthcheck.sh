#!/bin/sh
# Container health: a real pci.version XML-RPC call to the running
# pcipassd. The address, port and auth file are read from the daemon's
# own command line (/proc/PID/cmdline), the session from the auth file's
# first user, so the check follows whatever flags the container was given.
set -u

pid=
for p in /proc/[0-9]*; do
	if [ "$(cat "$p/comm" 2>/dev/null)" = pcipassd ]; then
		pid=${p#/proc/}
		break
	fi
done
[ -n "$pid" ] || { echo "no pcipassd process"; exit 1; }

listen=127.0.0.1 port=2634 auth=/etc/pcipass/auth prev=
for a in $(tr '\0' '\n' <"/proc/$pid/cmdline" | tr ' ' '_'); do
	case "$prev" in
	--listen) listen=$a ;;
	--port) port=$a ;;
	--auth) auth=$a ;;
	esac
	case "$a" in
	--listen=*) listen=${a#--listen=} ;;
	--port=*) port=${a#--port=} ;;
	--auth=*) auth=${a#--auth=} ;;
	esac
	prev=$a
done
case "$listen" in
0.0.0.0) listen=127.0.0.1 ;;
::|"[::]") listen='[::1]' ;;
*:*) listen="[$listen]" ;;
esac

session=$(grep -v -e '^#' -e '^$' "$auth" 2>/dev/null | head -n 1 |
    sed -e 's/:ro$//' -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g')
[ -n "$session" ] || { echo "cannot read a user from $auth"; exit 1; }

answer=$(printf '<?xml version="1.0"?><methodCall><methodName>pci.version'\
'</methodName><params><param><value><string>%s</string></value></param>'\
'</params></methodCall>' "$session" |
    curl -sS --max-time 5 -H 'Content-Type: text/xml' --data-binary @- \
    "http://$listen:$port/RPC2") || exit 1
case "$answer" in
*'<boolean>1</boolean>'*)
	echo "$answer" | sed -n 's:.*<string>\(pcipass[^<]*\)</string>.*:\1:p'
	exit 0 ;;
esac
echo "pci.version failed: $answer" | tr '\n' ' '
exit 1
