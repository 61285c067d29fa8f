// C16's detector: a lockdep-style graph of wait-for dependencies.
//
// As in the kernel's workqueue.c, every work and every workqueue is a
// pseudo-lock; so is every executor: a worker slot of a queue (the core
// thread, or the worker of one CPU), which runs one work at a time; so is
// an ordered shared queue's one active slot. A
// worker running work A of queue Q as executor X "holds" Q, X and A. When it
// waits for something, the engine adds an edge from each pseudo-lock it
// holds to each one it waits for:
//   flush_work(B)              B, and every executor or slot that must
//                              take the pending queueing the flush waits
//                              for (B may sit behind whatever that one
//                              waits in), and the runs elsewhere of the
//                              works ahead of B there
//   cancel_work_sync(B)        B (a pending queueing is taken, not awaited)
//   flush_workqueue(R), drain  R, and the runs elsewhere of R's pending works
// The engine's own C3 stalls hold up only the queueings behind B: a core
// that skips B (its run is elsewhere) holds up the works behind B in that
// order, a pool thread that takes B into an ordered queue's slot the works
// inactive behind it, and a CPU worker waiting for B everything for its
// CPU. Such a stall may close a cycle after every wait of it began (a
// queueing or a timer's firing behind B), so it is noted when it happens:
// each wait in progress for a held-up queueing (or a drain of that queue)
// gets its edges to B then (BasicEngine::tie_waits), and a wait that begins
// later finds B among its targets (wait_targets). No edge from the order,
// slot or executor to B: a permanent "executor waits for B" made a later
// wait for a work *ahead* of B a false cycle (an independent review,
// session 14; the model lazy_collision had one documented).
// A run in progress is B's own node, never its runner's executor: the run
// ends when B's callback returns, which depends only on what that callback
// waits for (B's edges). An edge to the runner's executor would tie the
// wait to everything that executor waits for at other times: "cycles"
// whose waits can never be in force at once (issue #13).
// The graph keeps every edge ever seen (a dependency, not a moment), so a
// cycle is reported the first time the second half of it is observed,
// before the two halves ever meet at run time and hang (lockdep's point).
// A cycle of length one is a wait on yourself: a work flushing itself, an
// executor waiting for a work queued behind itself (a single_thread or
// ordered queue flushing its own work, a lazy worker its own CPU's work).
//
// Locking: lock_ is a leaf; callers may hold engine locks when they call in.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "lazywq/annotations.hpp"
#include "lazywq/detail.hpp"

namespace lazywq {

// A pseudo-lock: a work, a workqueue, an executor, or one of a core's
// orders (the works of one key on its list, run in turn), by engine id.
struct DependencyNode {
  enum class Kind : uint8_t { work, queue, executor, order };
  Kind kind = Kind::work;
  uint64_t id = 0;
  std::string label;  // "work 'name' #id", "workqueue 'name' #id", "core of workqueue 'q' #id"...

  uint64_t key() const { return (id << 2) | static_cast<uint64_t>(kind); }
};

// One report: the chain of waits that closes the cycle, in order, each
// "who waits -> for whom (the call)".
struct DependencyCycle {
  std::vector<std::string> chain;
  std::string describe() const;
};

inline std::string DependencyCycle::describe() const {
  std::string out = "C16: wait-for cycle of " + std::to_string(chain.size()) + " dependenc" +
                    (chain.size() == 1 ? "y" : "ies") + ":";
  for (const auto& link : chain) out += "\n  " + link;
  return out;
}

template <class P>
class DependencyGraph {
 public:
  // Adds "each of `held` waits for `target`" (the `call` that waits, e.g.
  // "flush_work"). Returns the cycle one of the new edges closes, or an
  // empty chain. An edge that closes a cycle is not kept, so the same
  // mistake is reported at each occurrence, not turned into a permanent
  // cycle that blames later, correct waits. (One stall, one report is the
  // caller's business, per wait: BasicEngine::tie_waits. A graph-wide
  // "closed once" set silenced every later occurrence of the same
  // deadlock: an independent review, session 14.)
  DependencyCycle add(const std::vector<DependencyNode>& held, const DependencyNode& target, const char* call)
      LAZYWQ_EXCLUDES(lock_) {
    detail::Guard g(lock_);
    DependencyCycle first;
    for (const DependencyNode& h : held) {
      auto& out = out_[h.key()];
      // A kept edge was checked when it was added, and no edge that closes
      // a cycle is ever kept, so seeing it again cannot close one: the
      // common case (the same wait again) costs one lookup.
      if (out.count(target.key())) continue;
      std::string why = h.label + " waits for " + target.label + " (" + call + ")";
      std::vector<std::string> path;
      if (find_path_locked(target.key(), h.key(), path)) {
        // Reported (the first); the other held nodes' edges are still
        // added: returning here lost them, and with them a later, other
        // cycle through them (an independent review, session 15).
        if (first.chain.empty()) {
          first.chain.push_back(std::move(why));
          for (auto& p : path) first.chain.push_back(std::move(p));
        }
        continue;
      }
      out.emplace(target.key(), std::move(why));
    }
    return first;
  }

  // A wait that will be refused if it closes a cycle (DependencyCheck::
  // error): all of its edges, "each of `held` waits for each of
  // `targets`", are checked and added in one hold of the lock, or none of
  // them. Edge by edge, two waits closing one cycle at once could each
  // keep the edges the other's refusal then ran into: both refused
  // (C16_Dependency.WaitOnASerialQueueBehindItsOwnWorkerIsACycle, once
  // under ASan). A cycle through the wait's own new edges always has one
  // of them end in a path back to a held node, so checking each pair
  // against the kept edges is enough. `closing` is set to the index in
  // `targets` of the edge that closes the reported cycle.
  DependencyCycle add_all_or_none(const std::vector<DependencyNode>& held, const std::vector<DependencyNode>& targets,
                                  const char* call, size_t& closing) LAZYWQ_EXCLUDES(lock_) {
    detail::Guard g(lock_);
    for (size_t i = 0; i < targets.size(); ++i)
      for (const DependencyNode& h : held) {
        const DependencyNode& t = targets[i];
        auto it = out_.find(h.key());
        if (it != out_.end() && it->second.count(t.key())) continue;
        std::vector<std::string> path;
        if (find_path_locked(t.key(), h.key(), path)) {
          DependencyCycle c;
          c.chain.push_back(h.label + " waits for " + t.label + " (" + call + ")");
          for (auto& p : path) c.chain.push_back(std::move(p));
          closing = i;
          return c;
        }
      }
    for (const DependencyNode& t : targets)
      for (const DependencyNode& h : held) out_[h.key()].emplace(t.key(), h.label + " waits for " + t.label + " (" + call + ")");
    return {};
  }

  size_t edge_count() const LAZYWQ_EXCLUDES(lock_) {
    detail::Guard g(lock_);
    size_t n = 0;
    for (auto& [k, v] : out_) n += v.size();
    return n;
  }

 private:
  // Depth-first search from `from` to `to` over the kept edges; on success
  // `path` holds the edges' descriptions in order. from == to is the empty
  // path (a self-wait).
  bool find_path_locked(uint64_t from, uint64_t to, std::vector<std::string>& path) const LAZYWQ_REQUIRES(lock_) {
    if (from == to) return true;
    std::unordered_set<uint64_t> seen{from};
    std::vector<Frame> stack;
    stack.push_back(frame_locked(from));
    while (!stack.empty()) {
      Frame& f = stack.back();
      if (f.i == f.next.size()) {
        stack.pop_back();
        if (!path.empty()) path.pop_back();
        continue;
      }
      auto [n, why] = f.next[f.i++];
      if (!seen.insert(n).second) continue;
      path.push_back(*why);
      if (n == to) return true;
      stack.push_back(frame_locked(n));
    }
    return false;
  }

  // A step of the search: a node and its out-edges, sorted so that the
  // report does not depend on hash order.
  struct Frame {
    uint64_t node;
    std::vector<std::pair<uint64_t, const std::string*>> next;
    size_t i = 0;
  };
  Frame frame_locked(uint64_t n) const LAZYWQ_REQUIRES(lock_) {
    Frame f{n, {}, 0};
    auto it = out_.find(n);
    if (it != out_.end())
      for (auto& [to_key, why] : it->second) f.next.emplace_back(to_key, &why);
    std::sort(f.next.begin(), f.next.end());
    return f;
  }

  mutable typename P::Mutex lock_;
  // Edges: pseudo-lock -> (pseudo-lock it waited for -> first such wait).
  std::unordered_map<uint64_t, std::unordered_map<uint64_t, std::string>> out_ LAZYWQ_GUARDED_BY(lock_);
};

}  // namespace lazywq
