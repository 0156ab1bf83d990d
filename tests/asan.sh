#!/bin/sh
# make check-asan: everything built with ASan+UBSan (BUILD=build-asan
# SAN=1). The unit suites run with leak detection; for the daemon suites
# leak detection is on in every pcipassd (through a wrapper named by
# PCIPASSD) and off in the test runner, whose harness keeps xmlrpc values
# and curl output until exit. Abyss's own leak on malformed requests is
# suppressed (tests/lsan.supp). Reports go to $ASANDIR.
set -u
ASANDIR=${ASANDIR:-$(mktemp -d "${TMPDIR:-/tmp}/pcipass-asan.XXXXXX")}
supp=$SRCDIR/tests/lsan.supp
status=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export PCIPASS_HWM_MB=512

for suite in filter scan store match rules; do
	if ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$supp \
	    CK_RUN_SUITE=$suite "$TESTRUN" > "$ASANDIR/unit-$suite.out" 2>&1
	then
		echo "asan: unit suite $suite: clean ($(tail -n 1 \
		    "$ASANDIR/unit-$suite.out"))"
	else
		echo "asan: unit suite $suite: FAILED, see" \
		    "$ASANDIR/unit-$suite.out"
		status=1
	fi
done

wrap=$ASANDIR/pcipassd
cat > "$wrap" <<EOW
#!/bin/sh
ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0:fast_unwind_on_malloc=0:log_path=$ASANDIR/daemon \
LSAN_OPTIONS=suppressions=$supp exec $PCIPASSD "\$@"
EOW
chmod 755 "$wrap"
for suite in rpc hostile stress reconcile vgpu; do
	if PCIPASSD=$wrap ASAN_OPTIONS=detect_leaks=0 CK_RUN_SUITE=$suite \
	    "$TESTRUN" > "$ASANDIR/daemon-$suite.out" 2>&1; then
		echo "asan: daemon suite $suite: clean ($(tail -n 1 \
		    "$ASANDIR/daemon-$suite.out"))"
	else
		echo "asan: daemon suite $suite: FAILED:"
		grep -E ':[FE]:' "$ASANDIR/daemon-$suite.out" | head -5
		status=1
	fi
done
# A report holding only "Suppressions used" is no error.
n=$(grep -l 'ERROR:\|runtime error' "$ASANDIR"/daemon.* 2>/dev/null | wc -l)
echo "asan: $n daemon error reports (logs in $ASANDIR)"
[ "$n" -eq 0 ] || status=1
exit $status
