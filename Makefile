# Installing recur:
#   make install PREFIX=$HOME/.local      the tools, man pages (man1, man5), bash/zsh/fish completions
#   make install PREFIX=/usr/local MPI=1  fit built with MPI for mpirun (needs libopenmpi-dev)
#   make uninstall PREFIX=…               removes what install put there
# DESTDIR stages the install (packaging). The tools carry the Swift runtime
# (--static-swift-stdlib), so they run where Swift is not installed; they link the
# system's OpenBLAS, libsndfile and zlib (scripts/setup installs them).
PREFIX ?= /usr/local
DESTDIR ?=
MPI ?=
BUILD := .build-install$(if $(MPI),-mpi)
TOOLS := wav2seq tok charidx num2seq batch fit predict sample ppl seqinfo seqplot recur-bench
BIN = $(DESTDIR)$(PREFIX)/bin
MAN = $(DESTDIR)$(PREFIX)/share/man
BASH = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSH = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISH = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d

.PHONY: all build install uninstall
all: build

build:
	swift build -c release --static-swift-stdlib --build-path $(BUILD) $(if $(MPI),--traits MPI)

install: build
	install -d "$(BIN)" "$(MAN)/man1" "$(MAN)/man5" "$(BASH)" "$(ZSH)" "$(FISH)"
	for t in $(TOOLS); do \
	  install -m 755 "$(BUILD)/release/$$t" "$(BIN)/$$t" || exit 1; \
	  "$(BUILD)/release/$$t" --generate-completion-script bash > "$(BASH)/$$t" || exit 1; \
	  "$(BUILD)/release/$$t" --generate-completion-script zsh > "$(ZSH)/_$$t" || exit 1; \
	  "$(BUILD)/release/$$t" --generate-completion-script fish > "$(FISH)/$$t.fish" || exit 1; \
	done
	install -m 644 man/*.1 "$(MAN)/man1"
	install -m 644 man/*.5 "$(MAN)/man5"
	@echo "installed in $(DESTDIR)$(PREFIX); put $(PREFIX)/bin on your PATH if it is not (man finds the pages from it)"

uninstall:
	for t in $(TOOLS); do \
	  rm -f "$(BIN)/$$t" "$(BASH)/$$t" "$(ZSH)/_$$t" "$(FISH)/$$t.fish" "$(MAN)/man1/$$t.1"; \
	done
	rm -f "$(MAN)/man5/recur-stream.5"
