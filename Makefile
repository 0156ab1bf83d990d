# pcipass: make, make check, make install PREFIX=... DESTDIR=...
# `make deps` installs the Debian packages a build and the tests need.

# The tests' Python helpers import each other: no __pycache__ in the tree.
export PYTHONDONTWRITEBYTECODE = 1

PREFIX	?= /usr/local
DESTDIR	?=
BUILD	?= build
CC	?= cc
CFLAGS	?= -O2 -g
# Fixed-size fields (names, drivers) truncate on purpose, and paths are
# bounded by PATH_MAX, so -Wformat-truncation only adds noise here.
WARN	 = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wno-format-truncation
ifdef CI
WARN	+= -Werror
endif
ifdef SAN
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
endif

PKG_CFLAGS	 = $(shell pkg-config --cflags libpci sqlite3 yaml-0.1 json-c \
		   libpcre2-8 uuid libxml-2.0 liblz4)
CORE_LIBS	 = $(shell pkg-config --libs libpci sqlite3 yaml-0.1 libpcre2-8 \
		   uuid) -lpthread
SRV_LIBS	 = $(CORE_LIBS) $(shell pkg-config --libs liblz4) \
		   $(shell xmlrpc-c-config abyss-server --libs) -ldl
CLI_LIBS	 = $(shell pkg-config --libs json-c libxml-2.0) \
		   $(shell xmlrpc-c-config client --libs) -lpthread
CHECK_LIBS	 = $(shell pkg-config --libs check)
ALL_CFLAGS	 = -std=c11 -D_GNU_SOURCE -fPIC $(WARN) -Iinclude -Iserver \
		   -I$(BUILD) $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)

SRV_MAINS	:= server/pcipassd.c server/hostcmd.c
SRV_SRCS	:= $(filter-out $(SRV_MAINS),$(wildcard server/*.c))
SRV_OBJS	:= $(SRV_SRCS:%.c=$(BUILD)/%.o)
# The core (scan, filter, inventory, rules, store, match, bind, host
# tools) knows no XML-RPC: pcipass-host links it alone, without xmlrpc-c,
# so a core file that reached into the RPC front would not link.
CORE_SRCS	:= $(addprefix server/,addr.c bind.c extra.c filter.c format.c guard.c \
		   hostcheck.c hostconf.c intern.c inventory.c log.c match.c rules.c \
		   reconcile.c scan.c store.c store_alloc.c store_bind.c \
		   bind_journal.c store_mark.c store_sync.c store_wal.c vgpu.c)
CORE_OBJS	:= $(CORE_SRCS:%.c=$(BUILD)/%.o)
CORE_LIB	 = $(BUILD)/libpcipass-core.a
LIB_SRCS	:= $(filter-out client/pcipass.c client/probe.c,$(wildcard client/*.c))
LIB_OBJS	:= $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS	:= $(filter-out tests/kmdev.c tests/immutable.c,$(wildcard tests/*.c))
KMDEV		 = $(BUILD)/tests/kmdev.so
# The LD_PRELOAD stand-ins; the tests find immutable.so beside KMDEV.
PRELOADS	 = $(KMDEV) $(BUILD)/tests/immutable.so
TEST_OBJS	:= $(TEST_SRCS:%.c=$(BUILD)/%.o)

PCIPASSD	 = $(BUILD)/pcipassd
PCIPASS_HOST	 = $(BUILD)/pcipass-host
PCIPASS		 = $(BUILD)/pcipass
PCIPASS_PROBE	 = $(BUILD)/pcipass-probe
LIBA		 = $(BUILD)/libpcipass.a
LIBSO		 = $(BUILD)/libpcipass.so
TESTRUN		 = $(BUILD)/tests/run
STRESS		 = $(BUILD)/pcipass-stress
STRESS_LIBS	 = $(shell pkg-config --libs sqlite3 libcurl) \
		   $(shell xmlrpc-c-config --libs) -lpthread

.PHONY: all deps test-deps check test run install clean FORCE docker-test \
    stress fuzz fuzz-deps fuzz-bins check-asan check-valgrind
all: $(PCIPASSD) $(if $(wildcard server/hostcmd.c),$(PCIPASS_HOST)) \
    $(if $(LIB_SRCS),$(PCIPASS) $(PCIPASS_PROBE) $(LIBA) $(LIBSO))

deps:
	@sh scripts/deps.sh build

# The newcomer's two commands (README): run pcipassd on this host with the
# embedded defaults, and install what the tests need and run them all.
# The daemon keeps its state in /var/lib/pcipass and /etc/pcipass: root's,
# through sudo for a user who has it.
run: deps
	@$(MAKE) --no-print-directory all
	@s=; [ "$$(id -u)" -eq 0 ] || s=sudo; \
	    set -x; $$s mkdir -p /var/lib/pcipass /etc/pcipass && \
	    exec $$s $(abspath $(PCIPASSD)) -d -v

test: test-deps
	@$(MAKE) --no-print-directory check

test-deps:
	@sh scripts/deps.sh test

$(BUILD)/schema.inc: db/schema.sql
	@mkdir -p $(@D)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/.*/"&\\n"/' $< > $@

$(BUILD)/%.o: %.c $(wildcard server/*.h include/*.h client/*.h tests/*.h) \
    $(BUILD)/schema.inc
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(PCIPASSD): $(BUILD)/server/pcipassd.o $(SRV_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(SRV_LIBS)

$(CORE_LIB): $(CORE_OBJS)
	rm -f $@ && ar rcs $@ $^

$(PCIPASS_HOST): $(BUILD)/server/hostcmd.o $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(CORE_LIBS)

$(LIBA): $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(LIBSO): $(LIB_OBJS)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libpcipass.so.0 -o $@ $^ \
	    $(CLI_LIBS)

$(PCIPASS): $(BUILD)/client/pcipass.o $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLI_LIBS)

# The IM probe's client: xmlrpc-c without its curl transport (client/
# probe.c says why), so it takes from the archive only what needs no curl.
$(PCIPASS_PROBE): $(BUILD)/client/probe.o $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell xmlrpc-c-config --libs)

$(TESTRUN): $(TEST_OBJS) $(SRV_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(SRV_LIBS) $(CLI_LIBS) $(CHECK_LIBS)

$(STRESS): $(BUILD)/tests/stress/stress.o
	$(CC) $(LDFLAGS) -o $@ $^ $(STRESS_LIBS)

# The suites find the binaries and fixtures through the environment.
# Under SAN=1 the runner's own leak report is off (test code drops
# xmlrpc-c references); every daemon it starts keeps leak checking on.
# tests/kmdev.c plays the kernel's vGPU attributes (LD_PRELOAD into
# pcipassd), so it is built alone, without sanitizers.
# tests/immutable.c plays `chattr +i` on the database file the same way.
$(BUILD)/tests/%.so: tests/%.c tests/preload.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -fPIC -shared -O1 -g $(WARN) -o $@ $< \
	    -ldl -lpthread

check: all $(TESTRUN) $(STRESS) $(PRELOADS)
	$(if $(SAN),ASAN_OPTIONS=detect_leaks=0) PCIPASSD=$(abspath $(PCIPASSD)) PCIPASS=$(abspath $(PCIPASS)) \
	    KMDEV=$(abspath $(KMDEV)) \
	    PCIPASS_HOST=$(abspath $(PCIPASS_HOST)) SRCDIR=$(CURDIR) \
	    PCIPASS_PROBE=$(abspath $(PCIPASS_PROBE)) \
	    STRESS=$(abspath $(STRESS)) \
	    FIXTURES=$${FIXTURES:-$(abspath ../shared/fixtures/lspci)} \
	    $(TESTRUN)

# Reliability (docs/RELIABILITY.md). `make stress`: the long load, crash
# and slow hostile runs. `make fuzz`: each libFuzzer harness for
# FUZZ_SECONDS. `make check-asan`, `make check-valgrind`: the suites under
# ASan+UBSan and under valgrind.
STRESS_CLIENTS	?= 32
STRESS_SECONDS	?= 60
STRESS_KILLS	?= 25
POWERCUT	 = $(BUILD)/tests/stress/powercut.so
STRESS_CUTS	?= 25

# tests/stress/powercut.c keeps what a disk would after a power cut
# (LD_PRELOAD into pcipassd), built alone, without sanitizers.
$(POWERCUT): tests/stress/powercut.c tests/stress/pending.h tests/preload.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -fPIC -shared -O1 -g $(WARN) -o $@ $< \
	    -ldl -lpthread

stress: all $(STRESS) $(POWERCUT)
	STRESS=$(abspath $(STRESS)) PCIPASSD=$(abspath $(PCIPASSD)) \
	    FIXTURES=$${FIXTURES:-$(abspath ../shared/fixtures/lspci)} \
	    CLIENTS=$(STRESS_CLIENTS) SECONDS=$(STRESS_SECONDS) \
	    KILLS=$(STRESS_KILLS) CUTS=$(STRESS_CUTS) \
	    POWERCUT_SO=$(abspath $(POWERCUT)) sh tests/stress/run.sh

FUZZ_SECONDS	?= 60
FUZZ_HARNESSES	 = rpc filter scan template view fromxml
FUZZ_FLAGS	 = -O1 -g -fno-omit-frame-pointer \
		   -fsanitize=fuzzer-no-link,address,undefined \
		   -fno-sanitize-recover=undefined
FUZZ_OBJS	 = $(filter-out $(BUILD)/server/rpc.o,$(SRV_OBJS))

fuzz-deps:
	@dpkg-query -W -f='$${Status}\n' clang libclang-rt-14-dev 2>/dev/null | \
	    grep -c 'install ok installed' | grep -qx 2 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends clang \
	    libclang-rt-14-dev >/dev/null; }

$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/fuzz_%.o $(FUZZ_OBJS)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(SRV_LIBS)

# The VM template and view readers are client code: linked with libpcipass.
$(BUILD)/fuzz/fuzz_template: $(BUILD)/fuzz/fuzz_template.o $(LIB_OBJS)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(CLI_LIBS)
$(BUILD)/fuzz/fuzz_view: $(BUILD)/fuzz/fuzz_view.o $(LIB_OBJS)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(CLI_LIBS)
$(BUILD)/fuzz/fuzz_fromxml: $(BUILD)/fuzz/fuzz_fromxml.o $(LIB_OBJS)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(CLI_LIBS)

fuzz-bins: $(FUZZ_HARNESSES:%=$(BUILD)/fuzz/fuzz_%)

fuzz: fuzz-deps
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="$(FUZZ_FLAGS)" \
	    WARN="-Wall -Wextra -Wshadow -Wstrict-prototypes \
	    -Wmissing-prototypes" fuzz-bins
	sh fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

check-asan:
	$(MAKE) BUILD=build-asan SAN=1 all build-asan/tests/run \
	    build-asan/pcipass-stress build-asan/tests/kmdev.so \
	    build-asan/tests/immutable.so
	PCIPASSD=$(abspath build-asan/pcipassd) SRCDIR=$(CURDIR) \
	    KMDEV=$(abspath build-asan/tests/kmdev.so) \
	    STRESS=$(abspath build-asan/pcipass-stress) \
	    FIXTURES=$${FIXTURES:-$(abspath ../shared/fixtures/lspci)} \
	    TESTRUN=$(abspath build-asan/tests/run) sh tests/asan.sh

# The unit suites in one process (CK_FORK=no) under valgrind, then the
# daemon suites with every pcipassd under valgrind (tests/valgrind-pcipassd
# makes a daemon that valgrind faults on exit 99 after it logs).
VALGRIND	 = valgrind --error-exitcode=99 --leak-check=full \
		   --errors-for-leak-kinds=definite,indirect --quiet
check-valgrind: all $(TESTRUN) $(STRESS) $(PRELOADS)
	PCIPASSD=$(abspath $(PCIPASSD)) SRCDIR=$(CURDIR) \
	    KMDEV=$(abspath $(KMDEV)) \
	    FIXTURES=$${FIXTURES:-$(abspath ../shared/fixtures/lspci)} \
	    VALGRIND="$(VALGRIND)" TESTRUN=$(abspath $(TESTRUN)) \
	    STRESS=$(abspath $(STRESS)) sh tests/valgrind.sh

# The Debian packages (debian/): pcipass, libpcipass0, libpcipass-dev,
# built from a copy of the tree in build/deb, then checked by lintian.
DEB_DIR		 = $(BUILD)/deb
deb:
	sh scripts/deps.sh deb
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	git ls-files -z | xargs -0 tar cf - | tar xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(DEB_DIR)/*.deb

# Install them and check the service, the CLI and purge (scripts/
# deb-test.sh: in a systemd container when Docker answers).
deb-test: deb
	bash scripts/deb-test.sh $(DEB_DIR)

# The real-kernel lab: Debian's kernel under QEMU with an emulated IOMMU
# and PCI devices, the programs run against its /sys (tests/kernel/).
check-kernel: all $(KMDEV)
	sh scripts/deps.sh kernel
	bash tests/kernel/lab.sh $(BUILD)

# Build the image and run the three-host compose suite (docker/README.md).
docker-test:
	bash docker/run-tests.sh

PCFILE		 = $(BUILD)/pcipass.pc
LIBDIR		?= $(PREFIX)/lib
INCDIR		?= $(PREFIX)/include

# libpcipass's pkg-config file: xmlrpc-c has none, so its flags go in Libs.
$(PCFILE): FORCE
	@mkdir -p $(@D)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' \
	    'includedir=$(INCDIR)' '' 'Name: pcipass' \
	    'Description: client library of the pcipass PCI passthrough service' \
	    'Version: 0.1.0' 'Requires.private: json-c libxml-2.0' \
	    'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lpcipass' \
	    'Libs.private: $(strip $(shell xmlrpc-c-config client --libs)) -lpthread' \
	    > $@

# Units are installed, not enabled: systemctl enable pcipassd
# pcipass-bind (after editing /etc/pcipass/bind.conf).
SYSTEMDDIR	?= $(PREFIX)/lib/systemd/system
UNITS		 = pcipassd.service pcipass-bind.service
MANDIR		?= $(PREFIX)/share/man
MANPAGES	 = pcipass.1 pcipass-probe.1 pci.conf.5 pcipassd.8 pcipass-host.8

install: all $(if $(LIB_SRCS),$(PCFILE))
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(PCIPASSD) $(DESTDIR)$(PREFIX)/sbin/pcipassd
	install -m 755 $(PCIPASS_HOST) $(DESTDIR)$(PREFIX)/sbin/pcipass-host
	install -m 755 dist/opennebula/pcipass-session \
	    $(DESTDIR)$(PREFIX)/sbin/pcipass-session
	install -d $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(PREFIX)/share/pcipass
	for u in $(UNITS); do \
	    sed 's|@SBINDIR@|$(PREFIX)/sbin|g' dist/systemd/$$u \
	        > $(DESTDIR)$(SYSTEMDDIR)/$$u && \
	    chmod 644 $(DESTDIR)$(SYSTEMDDIR)/$$u || exit 1; done
	install -m 644 dist/bind.conf $(DESTDIR)$(PREFIX)/share/pcipass/bind.conf
	for s in 1 5 8; do install -d $(DESTDIR)$(MANDIR)/man$$s || exit 1; done
	for m in $(MANPAGES); do install -m 644 man/$$m \
	    $(DESTDIR)$(MANDIR)/man$${m##*.}/$$m || exit 1; done
ifneq ($(LIB_SRCS),)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)
	install -m 755 $(PCIPASS) $(DESTDIR)$(PREFIX)/bin/pcipass
	install -m 755 $(PCIPASS_PROBE) $(DESTDIR)$(PREFIX)/bin/pcipass-probe
	install -m 644 include/pcipass.h $(DESTDIR)$(INCDIR)/pcipass.h
	install -m 644 $(LIBA) $(DESTDIR)$(LIBDIR)/libpcipass.a
	install -m 755 $(LIBSO) $(DESTDIR)$(LIBDIR)/libpcipass.so.0
	ln -sf libpcipass.so.0 $(DESTDIR)$(LIBDIR)/libpcipass.so
	install -m 644 $(PCFILE) $(DESTDIR)$(LIBDIR)/pkgconfig/pcipass.pc
endif

# OpenNebula's remotes on the frontend (`onehost sync` copies them to the
# hosts), docs/OPENNEBULA.md: pcipass's IM probe in place of OpenNebula's
# pci.rb (kept in im/kvm-probes.d/pcipass-orig/, outside every probe
# directory, since monitord runs each executable file of one; a symlink,
# as OpenNebula installs it, is kept pointing where it did), and the KVM
# driver vmm/kvm-pcipass: our
# wrappers, `cancel` the same as `shutdown`, and every other action a
# link to OpenNebula's own in vmm/kvm (run again after upgrading
# OpenNebula). uninstall-opennebula undoes both.
ONE_REMOTES	?= /var/lib/one/remotes
ONE_PROBE	 = $(DESTDIR)$(ONE_REMOTES)/im/kvm-probes.d/host/system/pci.rb
ONE_SAVED	 = $(DESTDIR)$(ONE_REMOTES)/im/kvm-probes.d/pcipass-orig
ONE_VMM		 = $(DESTDIR)$(ONE_REMOTES)/vmm/kvm-pcipass
VMM_WRAPPERS	 = deploy shutdown save restore attach_nic detach_nic
install-opennebula:
	install -d $(dir $(ONE_PROBE)) $(ONE_VMM)
	sh dist/opennebula/move-probe $(ONE_PROBE) $(ONE_SAVED)/pci.rb
	install -m 755 dist/opennebula/im/pci.rb $(ONE_PROBE)
	install -m 644 dist/opennebula/vmm/kvm-pcipass/pcipassrc \
	    $(ONE_VMM)/pcipassrc
	for f in $(VMM_WRAPPERS); do install -m 755 \
	    dist/opennebula/vmm/kvm-pcipass/$$f $(ONE_VMM)/$$f || exit 1; done
	ln -sfn shutdown $(ONE_VMM)/cancel
	for f in $(DESTDIR)$(ONE_REMOTES)/vmm/kvm/*; do \
	    [ -e "$$f" ] || continue; n=$${f##*/}; \
	    [ -e $(ONE_VMM)/$$n ] || ln -s ../kvm/$$n $(ONE_VMM)/$$n; done

uninstall-opennebula:
	if grep -q "pcipass's drop-in" $(ONE_PROBE) 2>/dev/null; then \
	    rm -f $(ONE_PROBE); fi
	sh dist/opennebula/move-probe $(ONE_SAVED)/pci.rb $(ONE_PROBE)
	rm -rf $(ONE_VMM) $(ONE_SAVED)

# What make install wrote, nothing else (the state in /var/lib/pcipass
# and /etc/pcipass stays).
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/pcipassd \
	    $(DESTDIR)$(PREFIX)/sbin/pcipass-host \
	    $(DESTDIR)$(PREFIX)/sbin/pcipass-session \
	    $(DESTDIR)$(PREFIX)/bin/pcipass \
	    $(DESTDIR)$(PREFIX)/bin/pcipass-probe \
	    $(DESTDIR)$(PREFIX)/share/pcipass/bind.conf \
	    $(DESTDIR)$(INCDIR)/pcipass.h $(DESTDIR)$(LIBDIR)/libpcipass.a \
	    $(DESTDIR)$(LIBDIR)/libpcipass.so.0 \
	    $(DESTDIR)$(LIBDIR)/libpcipass.so \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/pcipass.pc
	for u in $(UNITS); do rm -f $(DESTDIR)$(SYSTEMDDIR)/$$u; done
	for m in $(MANPAGES); do \
	    rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$$m; done
	-rmdir $(DESTDIR)$(PREFIX)/share/pcipass 2>/dev/null

clean:
	rm -rf build build-*

# Benchmarks (bench/, docs/BENCHMARKS.md): an -O2 build of its own, wrk
# and hyperfine from Debian when missing; BENCH_QUICK=1 for a fast pass.
BENCH_BUILD	?= build-bench
.PHONY: bench install-opennebula uninstall-opennebula uninstall check-kernel \
    deb deb-test
bench: deps
	@sh bench/deps.sh
	@$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) CFLAGS="-O2 -g" all
	$(CC) -O2 -Wall -o $(BENCH_BUILD)/sqlite_floor bench/sqlite_floor.c \
	    $(shell pkg-config --cflags --libs sqlite3)
	$(CC) -O2 -Wall -Wextra -pthread -o $(BENCH_BUILD)/rpcload bench/rpcload.c
	bash bench/run.sh $(BENCH_BUILD)
