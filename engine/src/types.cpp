// Names of the plain types, for messages, events and the command line.
#include "lazywq/types.hpp"

#include <array>
#include <utility>

namespace lazywq {

std::string_view to_string(WqKind k) {
  switch (k) {
    case WqKind::per_cpu: return "per_cpu";
    case WqKind::lazy: return "lazy";
    case WqKind::single_thread: return "single_thread";
    case WqKind::ordered: return "ordered";
    case WqKind::shared: return "shared";
  }
  return "?";
}

std::string_view to_string(Errc e) {
  switch (e) {
    case Errc::invalid_cpu: return "invalid_cpu";
    case Errc::queue_destroyed: return "queue_destroyed";
    case Errc::deadlock: return "deadlock";
    case Errc::spawn_failed: return "spawn_failed";
    case Errc::cpu_state: return "cpu_state";
    case Errc::wrong_engine: return "wrong_engine";
    case Errc::invalid_argument: return "invalid_argument";
  }
  return "?";
}

namespace {
constexpr std::array<std::pair<PlantedBug, std::string_view>, 10> kPlanted{{
    {PlantedBug::none, "none"},
    {PlantedBug::spawn_fail_loses_work, "spawn_fail_loses_work"},
    {PlantedBug::idle_exit_strands_work, "idle_exit_strands_work"},
    {PlantedBug::migrate_reorders, "migrate_reorders"},
    {PlantedBug::migrate_duplicates, "migrate_duplicates"},
    {PlantedBug::clear_pending_after_run, "clear_pending_after_run"},
    {PlantedBug::missing_wakeup, "missing_wakeup"},
    {PlantedBug::stats_without_lock, "stats_without_lock"},
    {PlantedBug::blocked_worker_counted_running, "blocked_worker_counted_running"},
    {PlantedBug::collision_runs_concurrently, "collision_runs_concurrently"},
}};
}  // namespace

std::string_view to_string(PlantedBug b) {
  for (auto& [bug, name] : kPlanted)
    if (bug == b) return name;
  return "?";
}

PlantedBug planted_bug_from_string(std::string_view name) {
  for (auto& [bug, n] : kPlanted)
    if (n == name) return bug;
  std::string known;
  for (auto& [bug, n] : kPlanted) known += (known.empty() ? "" : ", ") + std::string(n);
  throw Error(Errc::invalid_argument, "unknown planted bug '" + std::string(name) + "' (known: " + known + ")");
}

std::vector<PlantedBug> all_planted_bugs() {
  std::vector<PlantedBug> out;
  for (auto& [bug, n] : kPlanted)
    if (bug != PlantedBug::none) out.push_back(bug);
  return out;
}

std::string_view to_string(RaceWindow w) {
  switch (w) {
    case RaceWindow::queue_inflight: return "queue_inflight";
    case RaceWindow::spawn_unlocked: return "spawn_unlocked";
    case RaceWindow::idle_exit_decision: return "idle_exit_decision";
    case RaceWindow::core_migrate: return "core_migrate";
    case RaceWindow::cancel_grab: return "cancel_grab";
    case RaceWindow::flush_wait: return "flush_wait";
    case RaceWindow::reentrant_wait: return "reentrant_wait";
    case RaceWindow::callback: return "callback";
    case RaceWindow::offline_retire: return "offline_retire";
    case RaceWindow::destroy_drain: return "destroy_drain";
    case RaceWindow::count: break;
  }
  return "?";
}

std::string_view to_string(EventType t) {
  switch (t) {
    case EventType::create: return "create";
    case EventType::queue: return "queue";
    case EventType::queue_busy: return "queue_busy";
    case EventType::timer_fire: return "timer_fire";
    case EventType::dequeue: return "dequeue";
    case EventType::destroy_end: return "destroy_end";
    case EventType::queue_rejected: return "queue_rejected";
    case EventType::timer_arm: return "timer_arm";
    case EventType::migrate: return "migrate";
    case EventType::spawn: return "spawn";
    case EventType::spawn_fail: return "spawn_fail";
    case EventType::fallback: return "fallback";
    case EventType::exec_begin: return "exec_begin";
    case EventType::exec_end: return "exec_end";
    case EventType::idle_exit: return "idle_exit";
    case EventType::thread_exit: return "thread_exit";
    case EventType::flush_begin: return "flush_begin";
    case EventType::flush_end: return "flush_end";
    case EventType::cancel_begin: return "cancel_begin";
    case EventType::cancel_end: return "cancel_end";
    case EventType::cpu_offline: return "cpu_offline";
    case EventType::cpu_online: return "cpu_online";
    case EventType::destroy: return "destroy";
    case EventType::callback_threw: return "callback_threw";
    case EventType::dependency_cycle: return "dependency_cycle";
    case EventType::wait_begin: return "wait_begin";
    case EventType::wait_end: return "wait_end";
    case EventType::mayday: return "mayday";
    case EventType::stall_watch: return "stall_watch";
    case EventType::wait_refused: return "wait_refused";
  }
  return "?";
}

std::string format_event(const Event& e) {
  std::string thr = (e.thread & kExternalThread) ? "ext" + std::to_string(e.thread & ~kExternalThread)
                                                 : "w" + std::to_string(e.thread);
  std::string s = "#" + std::to_string(e.seq) + " t=" + std::to_string(e.time_ns) + "ns thr=" + thr +
                  " cpu=" + std::to_string(e.cpu) + " " +
                  std::string(to_string(e.type));
  if (e.queue) s += " wq=" + std::to_string(e.queue);
  if (e.work) s += " work=" + std::to_string(e.work);
  s += " arg=" + std::to_string(e.arg);
  if (e.upto) s += " upto=" + std::to_string(e.upto);
  return s;
}

}  // namespace lazywq
