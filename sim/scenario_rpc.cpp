// The real-client scenario (issue #13): an rpciod-shaped client, the
// workload that found two permanent hangs no other scenario drew.
#include <memory>
#include <string>
#include <vector>

#include "sim/scenario.hpp"
#include "sim/scenario_kit.hpp"

namespace lazywq::sim {

using kit::check_knob;
using kit::drawn_queue;
using kit::knob;
using kit::knob_p;

namespace {

// The scenario's own bookkeeping of one work: what it can know for sure
// from the API's return values, checked against what ran.
struct Count {
  int accepted = 0;   // queueings that returned true
  int cancelled = 0;  // cancels that returned true (a pending queueing removed)
  int began = 0;
  int ended = 0;
  int inside = 0;     // callbacks running now: more than one breaks C3
};

}  // namespace

// Two queues, as the kernel's sunrpc has them: `rpc` runs each request's
// reply handler (a continuation that may queue another request's reply,
// cancels its own retransmit timer synchronously and flushes transport
// works) and its retransmit timer (which re-arms itself until the reply
// came, bounded); `xprt` runs the transmits, which never wait. Bursty
// submitters on every CPU send and arm timers, a reply thread cancels
// timers and queues replies, a flusher flushes both queues now and then,
// and hotplug and creation faults (switched on after the queues exist, up
// to permanent failure) come and go. Kinds, options and the
// DependencyCheck mode are drawn. The waits only go rpc -> xprt, so no
// wait-for cycle exists: a hang is the engine's (hang rule C15) and a
// reported cycle is false (C16). The scenario checks, besides the oracle:
// every work ran exactly (accepted - cancelled) times (C1, C12), never
// twice at once (C3), and a flush_work returned only after every run
// accepted before it had ended (C10).
void rpc_client(ScenarioContext& ctx) {
  EngineConfig cfg = ctx.engine_config(4, 100us, 10us, /*min_ncpus=*/1);
  cfg.dependency_check = check_knob(ctx, ctx.rng);
  ScopedEngine scoped(ctx, cfg);
  SimEngine& eng = *scoped;
  const int ncpus = eng.ncpus();
  SimWorkqueue& rpc = drawn_queue(ctx, eng, "rpc");
  SimWorkqueue& xprt = drawn_queue(ctx, eng, "xprt");
  const double fail_p = knob_p(ctx, "fail_p", {0.0, 0.0, 0.3, 1.0});
  const bool hotplug = ctx.rng.chance(0.5);
  ctx.note("hotplug", hotplug ? 1 : 0);
  const int nreq = static_cast<int>(knob(ctx, "requests", 2, 6));
  const int nops = static_cast<int>(knob(ctx, "ops", 6, 20));
  const int max_retransmits = 3;
  auto any_cpu = [&] { return static_cast<int>(ctx.rng.below(static_cast<uint64_t>(ncpus))); };

  struct Request {
    std::unique_ptr<SimWork> transmit, reply;
    std::unique_ptr<SimDelayedWork> retransmit;
    Count tx, rp, rt;
    bool replied = false;
    int retransmits = 0;
  };
  std::vector<Request> reqs(static_cast<size_t>(nreq));
  auto enter = [&](Count& c, const std::string& what) {
    ++c.began;
    ctx.expect(++c.inside == 1, "C3", what + " ran twice at once");
  };
  auto leave = [&](Count& c) {
    --c.inside;
    ++c.ended;
  };
  // Queue / arm / cancel, counted. Errors are the engine's to explain:
  // nothing here is misuse, so any Error fails the run.
  auto queue = [&](SimWorkqueue& q, SimWork& w, Count& c, int cpu) {
    if (q.queue_work_on(cpu, w)) ++c.accepted;
  };
  auto arm = [&](Request& r, int cpu) {
    if (rpc.queue_delayed_work_on(cpu, *r.retransmit, kit::delay(ctx, 30000))) ++r.rt.accepted;
  };
  auto flush_transmit = [&](Request& r, const std::string& who) {
    const int before = r.tx.accepted;
    eng.flush_work(*r.transmit);
    ctx.expect(r.tx.ended >= before - r.tx.cancelled, "C10",
               who + ": flush_work(transmit) returned with " + std::to_string(r.tx.ended) + " runs ended of " +
                   std::to_string(before) + " accepted before it");
  };
  for (int i = 0; i < nreq; ++i) {
    Request& r = reqs[static_cast<size_t>(i)];
    const std::string n = std::to_string(i);
    r.transmit = std::make_unique<SimWork>(
        [&, i](SimWork&) {
          Request& me = reqs[static_cast<size_t>(i)];
          enter(me.tx, "transmit " + std::to_string(i));
          if (ctx.rng.chance(0.3)) ScenarioContext::sleep_ns(ctx.rng.range(0, 3000));
          leave(me.tx);
        },
        "tx" + n);
    r.retransmit = std::make_unique<SimDelayedWork>(
        [&, i](SimWork&) {
          Request& me = reqs[static_cast<size_t>(i)];
          enter(me.rt, "retransmit " + std::to_string(i));
          queue(xprt, *me.transmit, me.tx, any_cpu());
          if (!me.replied && me.retransmits++ < max_retransmits) arm(me, any_cpu());  // re-arms itself
          leave(me.rt);
        },
        "rt" + n);
    r.reply = std::make_unique<SimWork>(
        [&, i](SimWork&) {
          Request& me = reqs[static_cast<size_t>(i)];
          enter(me.rp, "reply " + std::to_string(i));
          me.replied = true;
          if (eng.cancel_delayed_work_sync(*me.retransmit)) ++me.rt.cancelled;
          if (ctx.rng.chance(0.5)) flush_transmit(reqs[ctx.rng.below(reqs.size())], "reply " + std::to_string(i));
          if (i + 1 < nreq && ctx.rng.chance(0.3)) {  // continuation: the next request's reply
            Request& next = reqs[static_cast<size_t>(i + 1)];
            queue(rpc, *next.reply, next.rp, any_cpu());
          }
          leave(me.rp);
        },
        "rp" + n);
  }
  kit::set_faults(ctx, eng, {.fail_probability = fail_p, .seed = ctx.rng.next()});

  const int nsubmitters = static_cast<int>(knob(ctx, "submitters", 1, 3));
  // Threads: submitters 0..n-1, then the reply thread, the flusher, and
  // (drawn) the hotplug thread.
  ctx.clients(nsubmitters + 2 + (hotplug ? 1 : 0), [&](int who) {
    if (who < nsubmitters) {
      for (int k = 0; k < nops; ++k) {
        const int burst = static_cast<int>(ctx.rng.range(1, 3));
        for (int b = 0; b < burst; ++b) {
          Request& r = reqs[ctx.rng.below(reqs.size())];
          const int cpu = any_cpu();
          queue(xprt, *r.transmit, r.tx, cpu);
          arm(r, cpu);
        }
        if (ctx.rng.chance(0.4)) ScenarioContext::sleep_ns(ctx.rng.range(0, 20000));
      }
    } else if (who == nsubmitters) {  // replies
      for (int k = 0; k < nops; ++k) {
        Request& r = reqs[ctx.rng.below(reqs.size())];
        const bool sync = ctx.rng.chance(0.5);
        if (sync ? eng.cancel_delayed_work_sync(*r.retransmit) : eng.cancel_delayed_work(*r.retransmit)) ++r.rt.cancelled;
        queue(rpc, *r.reply, r.rp, any_cpu());
        if (ctx.rng.chance(0.2)) eng.flush_work(*reqs[ctx.rng.below(reqs.size())].reply);
        if (ctx.rng.chance(0.5)) ScenarioContext::sleep_ns(ctx.rng.range(0, 15000));
      }
    } else if (who == nsubmitters + 1) {  // the periodic flusher
      for (int k = 0; k < 3; ++k) {
        ScenarioContext::sleep_ns(ctx.rng.range(5000, 40000));
        SimWorkqueue& q = ctx.rng.chance(0.5) ? rpc : xprt;
        if (ctx.rng.chance(0.3))
          q.drain();  // refuses outside queueings meanwhile: they return false, counted as such
        else
          q.flush();
      }
    } else {  // hotplug
      for (int k = 0; k < 3 && ncpus > 1; ++k) {
        const int c = kit::non_core_cpu(ctx, eng);
        if (eng.cpu_is_online(c)) eng.cpu_offline(c);
        else eng.cpu_online(c);
        ScenarioContext::sleep_ns(ctx.rng.range(0, 30000));
      }
    }
  });
  for (int c = 0; c < ncpus; ++c)
    if (c != eng.config().core_cpu) eng.cpu_online(c);
  kit::set_faults(ctx, eng, {});
  rpc.flush();
  xprt.flush();
  rpc.destroy();   // drains: re-armed retransmits fire now, their transmits land on xprt
  xprt.destroy();
  for (int i = 0; i < nreq; ++i) {
    const Request& r = reqs[static_cast<size_t>(i)];
    const std::pair<const char*, const Count*> all[] = {{"transmit", &r.tx}, {"retransmit", &r.rt}, {"reply", &r.rp}};
    for (auto [what, c] : all) {
      ctx.expect(c->ended == c->began, "C14", std::string(what) + " " + std::to_string(i) + " still running after destroy");
      ctx.expect(c->began == c->accepted - c->cancelled, c->began > c->accepted - c->cancelled ? "C1" : "C15",
                 std::string(what) + " " + std::to_string(i) + " ran " + std::to_string(c->began) + " times for " +
                     std::to_string(c->accepted) + " accepted queueings and " + std::to_string(c->cancelled) +
                     " successful cancels");
    }
  }
  const auto cycles = eng.dependency_cycles();
  ctx.expect(cycles.empty(), "C16",
             "a false wait-for cycle (waits only go from rpc to xprt, whose works never wait): " +
                 (cycles.empty() ? std::string() : cycles[0].describe()));
}

}  // namespace lazywq::sim
