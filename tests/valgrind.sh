#!/bin/sh
# make check-valgrind: the unit suites in one process (CK_FORK=no) under
# valgrind, then the daemon suites with every pcipassd under valgrind
# (through a wrapper named by PCIPASSD). Any valgrind error or definite
# leak fails: valgrind exits 99, which the harness sees as a daemon that
# did not exit 0 on SIGTERM. Logs stay in $VGDIR.
set -u
: "${VALGRIND:=valgrind --error-exitcode=99 --leak-check=full}"
VALGRIND="$VALGRIND --suppressions=${SRCDIR:-.}/tests/valgrind.supp"
VGDIR=${VGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/pcipass-vg.XXXXXX")}
status=0

for suite in filter scan store match rules answer; do
	if CK_FORK=no CK_RUN_SUITE=$suite $VALGRIND \
	    --log-file="$VGDIR/unit-$suite.log" "$TESTRUN" \
	    > "$VGDIR/unit-$suite.out" 2>&1; then
		echo "valgrind: unit suite $suite: clean ($(tail -1 \
		    "$VGDIR/unit-$suite.out"))"
	else
		echo "valgrind: unit suite $suite: FAILED, see" \
		    "$VGDIR/unit-$suite.log"
		status=1
	fi
done

wrap=$VGDIR/pcipassd
cat > "$wrap" <<EOW
#!/bin/sh
exec $VALGRIND --log-file=$VGDIR/daemon.%p.log $PCIPASSD "\$@"
EOW
chmod 755 "$wrap"
for suite in rpc hostile reconcile vgpu; do
	if PCIPASSD=$wrap PCIPASS_SLOW=1 CK_RUN_SUITE=$suite \
	    CK_TIMEOUT_MULTIPLIER=5 \
	    "$TESTRUN" > "$VGDIR/daemon-$suite.out" 2>&1; then
		echo "valgrind: daemon suite $suite: clean ($(tail -1 \
		    "$VGDIR/daemon-$suite.out"))"
	else
		echo "valgrind: daemon suite $suite: FAILED:"
		grep -E ':[FE]:' "$VGDIR/daemon-$suite.out" | head -5
		status=1
	fi
done
errs=$(grep -l 'Conditional\|Invalid\|definitely lost\|uninitialised' \
    "$VGDIR"/daemon.*.log 2>/dev/null | wc -l)
echo "valgrind: $(ls "$VGDIR"/daemon.*.log | wc -l) daemon runs," \
    "$errs with errors or leaks (logs in $VGDIR)"
[ "$errs" -eq 0 ] || status=1
exit $status
