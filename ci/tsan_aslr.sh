# Sourced by test.sh and gate.sh: ThreadSanitizer and high mmap randomisation.
#
# Old clang TSan runtimes abort at start-up ("FATAL: ThreadSanitizer:
# unexpected memory mapping") on kernels with high mmap randomisation
# (vm.mmap_rnd_bits > 28). Running with ASLR off (setarch -R) avoids it.
TSAN_MARKER='unexpected memory mapping|FATAL: ThreadSanitizer'

# True when a tiny TSan program cannot even start here.
tsan_needs_no_aslr() {
  local dir out
  dir=$(mktemp -d)
  printf '#include <thread>\nint x; int main(){ std::thread t([]{ x = 1; }); t.join(); return x - 1; }\n' >"$dir/p.cpp"
  if ! clang++-14 -fsanitize=thread -g "$dir/p.cpp" -o "$dir/p" >/dev/null 2>&1; then
    rm -rf "$dir"; return 1
  fi
  out=$("$dir/p" 2>&1)
  rm -rf "$dir"
  echo "$out" | grep -Eq "$TSAN_MARKER"
}
