// own_actor_system: an application that already runs a caf::actor_system
// plugs vitrine into it, and one of its actors is told of every state
// change of a supervised process (as messages, instead of reading states).
//
// It runs `sleep 0.3` once (restart = temporary) and exits 0 when the app
// actor has seen the process exit.
#include <caf/all.hpp>
#include <vitrine/messages.hpp>  // state_changed_atom; includes CAF
#include <vitrine/vitrine.hpp>

#include <chrono>
#include <iostream>

using namespace std::chrono_literals;
using vitrine::core::process_status;

namespace {

using done_atom = caf::atom_constant<caf::atom("done")>;

// The application's actor. vitrine sends it (state_changed_atom, state)
// after every transition; the state is a copy it owns.
caf::behavior watcher(caf::event_based_actor* self, caf::actor main_thread) {
  return {
      [=](vitrine::state_changed_atom, const vitrine::core::process_state& s) {
        // (std::string: CAF's aout would quote string_views)
        caf::aout(self) << "app actor: " << std::string{s.name()} << " is "
                        << std::string{to_string(s.status)} << " (pid " << s.pid
                        << ", last exit " << describe(s.last_exit) << ")"
                        << std::endl;
        if (s.status == process_status::exited) {
          self->send(main_thread, done_atom::value);
          self->quit();  // the actor system waits for every actor at exit
        }
      },
  };
}

}  // namespace

int main() {
  // The application's own actor system, configured as it likes.
  caf::actor_system_config config;
  caf::actor_system system{config};

  // vitrine borrows it: its process and supervisor actors run on the same
  // scheduler as the application's. The system must outlive the runtime,
  // hence the inner scope.
  int exit_code = 1;
  {
    vitrine::runtime rt{system};

    vitrine::process_spec spec;
    spec.name = "job";
    spec.launch.argv = {"sleep", "0.3"};
    spec.restart = vitrine::restart_policy::temporary;  // run once
    spec.startsecs = 100ms;
    spec.autostart = false;  // subscribe first, so no transition is missed
    auto job = rt.supervise(spec);

    caf::scoped_actor self{system};
    auto app = system.spawn(watcher, caf::actor_cast<caf::actor>(self));
    job.subscribe(app);  // asynchronous, like every command
    job.start();         // handled after the subscription (same sender)

    self->receive(
        [&](done_atom) {
          std::cout << "main: the app actor saw the job exit" << std::endl;
          exit_code = 0;
        },
        caf::after(10s) >>
            [&] {
              std::cerr << "main: timed out\n";
              self->send_exit(app, caf::exit_reason::user_shutdown);
            });

    // States stay readable lock-free from any thread, messages or not.
    std::cout << "main: job is " << to_string(job.read()->status) << std::endl;
  }  // ~runtime: stops what is left and waits for the children
  return exit_code;
}
