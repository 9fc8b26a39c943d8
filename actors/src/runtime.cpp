#include "vitrine/runtime.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "ask_blocking.hpp"
#include "atoms.hpp"
#include "command_port.hpp"
#include "host_thread_scope.hpp"
#include "option_checks.hpp"
#include "remote_hub.hpp"
#include "spec_names.hpp"
#include "supervisor_actor.hpp"
#include "thread_headroom.hpp"
#include "vitrine/os/cgroup.hpp"
#include "vitrine/os/guardian.hpp"
#include "vitrine/os/reaper.hpp"
#include "vitrine/os/spawn_slots.hpp"
#include "vitrine/os/subreaper.hpp"

namespace vitrine {
namespace {

unsigned scheduler_threads(const runtime_options& options) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return options.scheduler_threads ? options.scheduler_threads : cores;
}

/// What a caf::actor_system of `options` starts besides its scheduler's
/// workers: its clock, its printer and the middleman's multiplexer (two
/// threads), counted from a running `vitrine run`.
constexpr unsigned caf_service_threads = 4;

std::unique_ptr<caf::actor_system_config> make_config(
    const runtime_options& options) {
  auto config = std::make_unique<caf::actor_system_config>();
  config->set("scheduler.max-threads",
              static_cast<int>(scheduler_threads(options)));
  if (options.tune_scheduler_for_latency) {
    // Skip the sleep-polling phase: an idle worker goes straight to its
    // condition variable, which an enqueue from outside signals.
    config->set("work-stealing.moderate-poll-attempts", 0);
    // There an idle worker still wakes every relaxed-sleep-duration to try
    // to steal (10 ms by default: 100 wake-ups a second per worker). At
    // 100 ms the two workers of a 2-core machine were 20 of an idle
    // `vitrine run`'s 22 wake-ups a second. Stealing is only load
    // balancing: a message to an idle runtime wakes its worker at once,
    // and a job queued behind a busy worker's handler waits at most for
    // that handler (vitrine's never block).
    config->set("work-stealing.relaxed-sleep-duration",
                caf::timespan{std::max(options.scheduler_idle_steal,
                                       std::chrono::milliseconds{1})});
  }
  if (options.remoting.enabled) configure_remoting(*config, options.remoting);
  return config;
}

supervisor_spec root_spec(const runtime_options& options) {
  supervisor_spec spec;
  spec.name = detail::root_supervisor_name;
  spec.strategy = restart_strategy::one_for_one;
  spec.intensity = options.root_intensity;
  spec.period = options.root_period;
  return spec;
}

}  // namespace

namespace detail {
std::vector<std::pair<std::string, std::string>> runtime_context::claim_names(
    const std::vector<std::string>& names) const {
  return claims->claim(names,
                       [this](std::string_view n) { return name_taken(n); });
}

void runtime_context::release_name(const std::string& name) const {
  claims->release(name);
}

void runtime_context::release_tree_names(const child_spec& spec) const {
  claims->release(process_names(spec));
  claims->release(supervisor_names(spec));
}

std::string runtime_context::name_taken(std::string_view name) const {
  const std::string quoted = "'" + std::string{name} + "'";  // validated
  if (registry.lookup(name))
    return "a process named " + quoted + " is already supervised";
  if (supervisors.lookup(name))
    return "a supervisor named " + quoted + " already exists";
  return {};
}

bool runtime_context::register_process(
    const std::string& name,
    const std::shared_ptr<process_record>& record) const {
  if (!registry.insert(name, record)) return false;
  published();
  return true;
}

bool runtime_context::register_processes(
    std::vector<named_record> records) const {
  if (records.empty()) return true;
  if (!registry.insert_all(std::move(records))) return false;
  published();
  return true;
}
}  // namespace detail

struct runtime::impl {
  explicit impl(runtime_options o)
      : options(o), reads(o.reads ? *o.reads : read_policy::hybrid()) {}
  ~impl() { io.stop(); }  // before the guardian it may call back into

  runtime_options options;
  const read_policy& reads;
  // Declared first so it is destroyed last: actors and the I/O thread go
  // before the system they run on.
  std::unique_ptr<caf::actor_system_config> owned_config;
  std::unique_ptr<caf::actor_system> owned_system;
  caf::actor_system* system = nullptr;
  // Opened before any child, so its descriptors are low: every spawn then
  // copies only the few below them (spawn_slots.hpp), not one per program.
  os::spawn_slots spawn_slots;
  os::io_service io;
  // No leftovers (docs/design.md, "Orphans"): a cgroup per program where
  // possible, a guardian process that kills them all if we die, and (with
  // subreaper) a reaper for descendants re-parented to us. Torn down in
  // shutdown(), after io (the guardian's watcher) has stopped.
  std::unique_ptr<os::cgroup_tree> cgroups = os::cgroup_tree::detect();
  std::unique_ptr<os::guardian> guardian;
  std::unique_ptr<os::subreaper_scope> adoption;  // with reaper
  std::unique_ptr<os::orphan_reaper> reaper;
  registry_type registry;
  supervisor_registry_type supervisors;
  std::shared_ptr<detail::supervisor_record> root_record =
      std::make_shared<detail::supervisor_record>(
          std::make_shared<const std::string>(detail::root_supervisor_name));
  std::shared_ptr<detail::status_table_writer> status_table;
  std::unique_ptr<detail::runtime_context> context;
  detail::publication_counter publications;
  detail::name_claims claims;
  caf::actor root;
  /// The read policy's directory actor, if it spawned one (it reads
  /// `registry`); reset by shutdown().
  caf::actor directory;
  detail::remote_hub remote{options.remoting};
  std::mutex mutex;  // serializes supervise(), serve(), connect() and the
                     // end of shutdown()
  std::mutex shutdown_mutex;          // one shutdown() at a time
  std::atomic<bool> stopping{false};  // shutdown() has begun
  std::stop_source starts_cancelled;  // by shutdown(), before any message
  bool stopped = false;               // under shutdown_mutex

  void start(caf::actor_system& sys) {
    system = &sys;
    if (options.subreaper) {
      adoption = std::make_unique<os::subreaper_scope>();
      if (*adoption)
        reaper = std::make_unique<os::orphan_reaper>();
      else
        adoption.reset();
    }
    guardian = std::make_unique<os::guardian>(cgroups ? cgroups->root() : "");
    guardian->watch(io);
    directory = reads.spawn_directory(sys, registry);
    if (!options.status_table_path.empty())
      status_table = std::make_shared<detail::status_table_writer>(
          options.status_table_path, options.status_heartbeat);
    context.reset(new detail::runtime_context{
        io, registry, supervisors, &reads, guardian.get(), cgroups.get(),
        status_table, &publications, &claims, starts_cancelled.get_token()});
    supervisors.insert(std::string{detail::root_supervisor_name}, root_record);
    root = detail::spawn_supervisor_actor(sys, root_record, root_spec(options),
                                          *context, caf::actor{});
    if (status_table)
      status_table->on_damage(
          [root = caf::actor_cast<caf::weak_actor_ptr>(root)] {
            if (auto alive = caf::actor_cast<caf::actor>(root))
              caf::anon_send(alive, detail::republish_atom::value);
          });
    request_blocking<std::uint64_t>(detail::start_atom::value,
                                    std::stop_token{});
  }

  detail::name_source names() const noexcept { return {registry, directory}; }

  template <class Reply = caf::ok_atom, class... Ts>
  Reply request_blocking(Ts&&... xs) {
    const detail::host_thread_scope on_return;
    caf::scoped_actor self{*system};
    auto reply =
        detail::ask_blocking<Reply>(self, root, std::forward<Ts>(xs)...);
    if (!reply)
      throw std::runtime_error("vitrine: root supervisor refused: " +
                               system->render(reply.error()));
    return std::move(*reply);
  }

  /// Every actor of the tree must be gone before the OS resources their
  /// timers use (the I/O thread, cgroups, the guardian). The root's shutdown
  /// quits them all; one that is still alive is told to shut down here, and
  /// waited for. A safety net: the chaos stragglers it caught (process
  /// actors still stopping) came from supervisors that issued the next
  /// shutdown step before the previous one was answered, fixed there.
  void shut_down_stragglers() {
    std::vector<caf::actor> actors;
    auto collect = [&](const auto& registry) {
      auto view = registry.snapshot();
      for (const auto& entry : view->entries())
        if (auto port = entry->value->port.load()) {
          caf::anon_send(port->owner(), detail::shutdown_atom::value);
          actors.push_back(port->owner());
        }
    };
    collect(registry);
    collect(supervisors);
    const detail::host_thread_scope on_return;
    caf::scoped_actor self{*system};
    self->wait_for(actors);
  }

  void ensure_running() const {
    if (stopping.load(std::memory_order_acquire))
      throw std::runtime_error("vitrine: runtime is shut down");
  }

  /// Claims every name of a tree about to be added (see name_claims.hpp);
  /// throws spec_error naming each one taken or being added.
  void claim_names(const std::vector<std::string>& names) const {
    std::vector<spec_problem> taken;
    for (auto& [name, why] : context->claim_names(names))
      taken.push_back({spec_field_prefix(name) + "name", std::move(why)});
    if (!taken.empty()) throw spec_error(std::move(taken));
  }

  /// Adds `spec`, whose `names` are claimed, to the root. Refused (the
  /// runtime stopping), nothing of it was built: the claims end.
  template <class Record, class Spec>
  std::shared_ptr<Record> add_to_root(Spec spec,
                                      const std::vector<std::string>& names) {
    try {
      return request_blocking<std::shared_ptr<Record>>(
          detail::add_child_atom::value, std::move(spec));
    } catch (...) {
      context->claims->release(names);
      throw;
    }
  }
};

runtime::runtime(runtime_options options) {
  const detail::host_thread_scope on_return;  // the system's constructor too
  // The options, then the configuration (TLS files included): options
  // refused leave nothing behind, not even the runtime's cgroup.
  detail::check_runtime_options(options);
  auto config = make_config(options);
  impl_ = std::make_unique<impl>(options);
  impl_->owned_config = std::move(config);
  detail::require_thread_headroom(scheduler_threads(options) +
                                  caf_service_threads);
  impl_->owned_system =
      std::make_unique<caf::actor_system>(*impl_->owned_config);
  impl_->start(*impl_->owned_system);
}

runtime::runtime(caf::actor_system& system, runtime_options options) {
  detail::check_runtime_options(options);
  impl_ = std::make_unique<impl>(options);
  const detail::host_thread_scope on_return;
  impl_->start(system);
}

runtime::~runtime() {
  shutdown();
}

void runtime::begin_shutdown() noexcept {
  impl_->starts_cancelled.request_stop();  // no child spawns for a start now
}

void runtime::shutdown() {
  begin_shutdown();
  impl_->remote.close_supervise();  // before the lock its requests need
  std::lock_guard sequence{impl_->shutdown_mutex};
  if (impl_->stopped) return;
  impl_->stopping.store(true, std::memory_order_release);
  // The root first, without the lock: a supervise() may hold it while the
  // root starts its tree (startsecs, readiness). The root's shutdown
  // cancels that start, so the supervise() returns (or, when its tree was
  // not added yet, throws) instead of keeping this waiting.
  impl_->request_blocking(detail::shutdown_atom::value);
  {
    const detail::host_thread_scope on_return;
    caf::scoped_actor self{*impl_->system};
    self->wait_for(impl_->root);
  }
  std::lock_guard lock{impl_->mutex};
  impl_->stopped = true;
  impl_->remote.shutdown(*impl_->system);
  impl_->root = nullptr;
  if (auto& directory = impl_->directory) {
    // It reads the registry, which goes with us: gone before we are.
    caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
    const detail::host_thread_scope on_return;
    caf::scoped_actor self{*impl_->system};
    self->wait_for(directory);
    directory = nullptr;
  }
  impl_->shut_down_stragglers();
  // Handles may outlive us: they keep their last state, lose their commands.
  auto view = impl_->registry.snapshot();
  for (const auto& entry : view->entries()) entry->value->port.store(nullptr);
  auto supervisors = impl_->supervisors.snapshot();
  for (const auto& entry : supervisors->entries())
    entry->value->port.store(nullptr);
  impl_->io.stop();
  impl_->guardian.reset();  // after io: it watched the guardian
  impl_->cgroups.reset();   // kills and removes what is left in the tree
  if (impl_->reaper) {
    // The last runtime that adopted kills and reaps what was adopted (setsid
    // daemons of its programs, and of other runtimes' programs stopping at
    // the same time); other subreaper runtimes leave them to the last one.
    // It kills while it still adopts, round after round: the children of a
    // killed orphan re-parent to it and die in the next round (killed after
    // the attribute's end, they went to init and lived on: an outside
    // tester, without cgroups). Then it gives the attribute back, so later
    // orphans of the host go to init, not to a process nobody reaps for,
    // and kills once more what was adopted meanwhile (else such an orphan
    // stayed a zombie: an outside tester, runtimes with and without
    // subreaper destroyed at once).
    const bool last = impl_->reaper->sole_user();
    if (last) os::orphan_reaper::kill_adopted();
    impl_->adoption.reset();
    if (last) os::orphan_reaper::kill_adopted();
    os::orphan_reaper::reap_now();
    impl_->reaper.reset();
  }
  if (impl_->status_table) impl_->status_table->close();
}

process_handle runtime::supervise(process_spec spec) {
  if (auto problems = validate(spec); !problems.empty())
    throw spec_error(std::move(problems));
  std::lock_guard lock{impl_->mutex};
  impl_->ensure_running();
  const std::vector<std::string> names{spec.name};
  impl_->claim_names(names);
  auto record =
      impl_->add_to_root<detail::process_record>(std::move(spec), names);
  return process_handle{std::move(record), impl_->reads};
}

supervisor_handle runtime::supervise(supervisor_spec spec) {
  if (auto problems = validate(spec); !problems.empty())
    throw spec_error(std::move(problems));
  std::vector<std::string> names;
  detail::collect_process_names(spec, names);
  detail::collect_supervisor_names(spec, names);
  std::lock_guard lock{impl_->mutex};
  impl_->ensure_running();
  impl_->claim_names(names);
  auto record =
      impl_->add_to_root<detail::supervisor_record>(std::move(spec), names);
  return supervisor_handle{std::move(record), impl_->reads};
}

std::uint16_t runtime::serve(const serve_options& options) {
  std::lock_guard lock{impl_->mutex};
  impl_->ensure_running();
  return impl_->remote.serve(*impl_->system, impl_->registry, options, *this,
                             impl_->starts_cancelled.get_token());
}

node_handle runtime::connect(remote_endpoint node, connect_options options) {
  // What the command line refuses as HOST:PORT (an outside tester's port
  // 0 was taken, and its handle tried forever).
  if (!remote_endpoint::parse(node.to_string()))
    throw std::invalid_argument("connect: not a node's HOST:PORT: '" +
                                node.to_string() + "' (PORT 1..65535)");
  detail::check_connect_options(options);
  std::lock_guard lock{impl_->mutex};
  impl_->ensure_running();
  return node_handle{
      impl_->remote.connect(*impl_->system, std::move(node), options)};
}

process_handle runtime::find(std::string_view name) const {
  return process_handle{impl_->reads.find(names(), name), impl_->reads};
}

detail::name_source runtime::names() const noexcept {
  return impl_->names();
}

const runtime::registry_type& runtime::registry() const noexcept {
  return impl_->registry;
}

const runtime::supervisor_registry_type& runtime::supervisors() const noexcept {
  return impl_->supervisors;
}

supervisor_handle runtime::find_supervisor(std::string_view name) const {
  return supervisor_handle{impl_->supervisors.find_shared(name), impl_->reads};
}

supervisor_handle runtime::root() const {
  return supervisor_handle{impl_->root_record, impl_->reads};
}

std::uint64_t runtime::publications() const noexcept {
  return impl_->publications.load();
}

int runtime::publication_fd() const noexcept {
  return impl_->publications.fd();
}

bool runtime::arm_publication_fd(std::uint64_t seen) const noexcept {
  return impl_->publications.arm(seen);
}

runtime::status_table_gap runtime::missing_from_status_table() const {
  if (!impl_->status_table) return {};
  auto gap = impl_->status_table->missing();
  return {gap.missing, std::move(gap.error)};
}

void runtime::check_status_table() {
  if (impl_->status_table) impl_->status_table->check_now();
}

const read_policy& runtime::reads() const noexcept {
  return impl_->reads;
}

caf::actor_system& runtime::system() noexcept {
  return *impl_->system;
}

}  // namespace vitrine
