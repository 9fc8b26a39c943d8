// config.cpp: the TOML -> supervisor_spec translation. Structure: one
// function per table kind (supervisor or group, program, stdio, backoff),
// then the semantic pass that maps vitrine::validate()'s fields back to keys.
// Reading the file and printing a diagnostic: config_file.cpp.
#include "config.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "program_keys.hpp"
#include "state_dir.hpp"
#include "text_escape.hpp"
#include "toml_prefilter.hpp"
#include "toml_reader.hpp"

namespace vitrine::cli {

namespace {

using detail::key_locations;
using detail::locate_keys;
using detail::location;
using detail::problem_sink;
using detail::table_reader;
using detail::where;

constexpr std::string_view default_supervisor_name = "main";
/// Deepest nesting of [[group]] tables accepted (docs/cli.md, "Limits").
constexpr std::size_t max_group_depth = 32;

class translator {
 public:
  translator(const parse_options& options, problem_sink& out)
      : options_(options), out_(out) {}

  config run(const toml::table& root) {
    config result;
    table_reader doc{root, "", {1, 1}, out_};
    doc.allow_only({"supervisor", "program", "group"});
    auto& tree = result.tree;
    tree.name = default_supervisor_name;
    if (const auto* sup = doc.get_table("supervisor")) {
      table_reader r{*sup, "supervisor", where(sup->source()), out_};
      r.allow_only(
          {"name", "strategy", "intensity", "period_ms", "parallel_start"});
      read_supervisor_keys(r, tree, out_.size());
      if (is_dot_name(tree.name))
        r.error("name", "'" + tree.name +
                            "' cannot name the run's state directory "
                            "($XDG_RUNTIME_DIR/vitrine/NAME): choose "
                            "another name");
    }
    read_children(doc, tree);
    const auto* sup = doc.find("supervisor");
    const auto* sup_table = sup ? sup->as_table() : nullptr;
    const auto fleet = detail::default_top_intensity(tree);
    result.intensity_derived = !sup_table || !sup_table->contains("intensity");
    result.period_derived = !sup_table || !sup_table->contains("period_ms");
    if (result.intensity_derived) tree.intensity = fleet.intensity;
    if (result.period_derived) tree.period = fleet.period;
    const bool named =
        sup && sup->is_table() && sup->as_table()->contains("name");
    if (!named && names_.contains(default_supervisor_name))
      doc.error("supervisor",
                "the top supervisor is named '" +
                    std::string{default_supervisor_name} +
                    "' by default, like another entry: give it a name in "
                    "[supervisor]");
    result.program_count = programs_;
    result.group_count = groups_;
    return result;
  }

 private:
  /// validate()'s problems are reported unless one about the same key was
  /// reported since diagnostic number `first`.
  void read_supervisor_keys(table_reader& r, supervisor_spec& spec,
                            std::size_t first) {
    if (auto name = r.get_string("name")) {
      spec.name = *name;
      claim_name(r, spec.name);
    }
    if (auto s = r.get_choice("strategy",
                              {"one_for_one", "one_for_all", "rest_for_one"}))
      spec.strategy = static_cast<restart_strategy>(*s);
    if (auto v = r.get_int("intensity", 0, 1'000'000))
      spec.intensity = static_cast<unsigned>(*v);
    if (auto v = r.get_millis("period_ms", 1)) spec.period = *v;
    if (auto v = r.get_bool("parallel_start")) spec.parallel_start = *v;
    if (!options_.semantic_checks) return;
    // validate() on the group alone: its own settings, not its children.
    supervisor_spec alone = spec;
    alone.children.clear();
    report(r, alone.name, validate(alone), first);
  }

  /// Reads `program` and `group` arrays of `r` into spec.children, in the
  /// order they are written in the file.
  void read_children(table_reader& r, supervisor_spec& spec) {
    const auto* programs = r.get_table_array("program");
    const auto* groups = r.get_table_array("group");
    std::vector<std::pair<location, child_spec>> children;
    children.reserve((programs ? programs->size() : 0) +
                     (groups ? groups->size() : 0));
    for (std::size_t i = 0; programs && i < programs->size(); ++i) {
      const auto& table = *programs->get(i)->as_table();
      ++programs_;
      children.emplace_back(where(table.source()),
                            read_program(r.path(), table));
    }
    for (std::size_t i = 0; groups && i < groups->size(); ++i) {
      const auto& table = *groups->get(i)->as_table();
      ++groups_;
      children.emplace_back(where(table.source()), read_group(r.path(), table));
    }
    // Programs and groups interleaved in file order; sorting the lines
    // alone keeps the (large) specs from being moved around.
    std::vector<std::pair<std::uint32_t, std::size_t>> order;
    order.reserve(children.size());
    for (std::size_t i = 0; i < children.size(); ++i)
      order.emplace_back(children[i].first.line, i);
    if (!std::is_sorted(order.begin(), order.end()))
      std::stable_sort(order.begin(), order.end());
    spec.children.reserve(spec.children.size() + children.size());
    for (const auto& [line, i] : order)
      spec.children.push_back(std::move(children[i].second));
  }

  /// Names the `n`th table of a kind in diagnostics: "program[web]", or
  /// "program[#3]" while it has no usable name.
  static std::string table_path(const std::string& parent,
                                std::string_view kind, const toml::table& table,
                                std::size_t n) {
    std::string label = "#" + std::to_string(n);
    if (const auto* name = table.get_as<std::string>("name"))
      if (!name->get().empty()) label = key_label(name->get());
    std::string path = std::string{kind} + "[" + label + "]";
    return parent.empty() || parent == "supervisor" ? path
                                                    : parent + "." + path;
  }

  child_spec read_group(const std::string& parent, const toml::table& table) {
    supervisor_spec spec;
    table_reader r{table, table_path(parent, "group", table, groups_),
                   where(table.source()), out_};
    r.allow_only({"name", "strategy", "intensity", "period_ms",
                  "parallel_start", "restart", "program", "group"});
    const std::size_t first = out_.size();
    if (!r.find("name")) r.error("name", "missing required key 'name'");
    read_supervisor_keys(r, spec, first);
    if (auto v =
            r.get_choice("restart", {"permanent", "transient", "temporary"}))
      spec.restart = static_cast<restart_policy>(*v);
    // Each level is a stack frame here, in validate() and in the runtime.
    if (++depth_ > max_group_depth)
      r.table_error("groups nest deeper than " +
                    std::to_string(max_group_depth) + " levels");
    else
      read_children(r, spec);
    --depth_;
    return spec;
  }

  child_spec read_program(const std::string& parent, const toml::table& table) {
    process_spec spec;
    table_reader r{table, table_path(parent, "program", table, programs_),
                   where(table.source()), out_};
    const std::size_t first = out_.size();
    r.allow_only({"name", "command", "env", "inherit_env", "cwd", "umask",
                  "restart", "expected_exit_codes", "startsecs_ms",
                  "startretries", "restart_limit", "backoff", "stop_signal",
                  "stop_timeout_ms", "stdout", "stderr", "notify_fd",
                  "autostart"});
    if (auto name = r.get_string("name")) {
      spec.name = *name;
      claim_name(r, spec.name);
    } else if (!r.find("name")) {
      r.error("name", "missing required key 'name'");
    }
    read_command(r, spec.launch);
    detail::read_environment(r, spec.launch);
    if (auto cwd = r.get_string("cwd")) {
      if (cwd->empty())
        r.error("cwd",
                "needs a directory (absolute, or relative to the directory "
                "of the configuration file)");
      else
        spec.launch.cwd = resolve(*cwd);
    }
    detail::read_umask(r, spec.launch);
    if (auto v =
            r.get_choice("restart", {"permanent", "transient", "temporary"}))
      spec.restart = static_cast<restart_policy>(*v);
    detail::read_exit_codes(r, spec);
    if (auto v = r.get_millis("startsecs_ms")) spec.startsecs = *v;
    if (auto v = r.get_int("startretries", 0, 1000))
      spec.startretries = static_cast<unsigned>(*v);
    detail::read_backoff(r, spec.backoff);
    detail::read_restart_limit(r, spec.restart_limit);
    detail::read_stop_signal(r, spec);
    if (auto v = r.get_millis("stop_timeout_ms", 1)) spec.stop_timeout = *v;
    detail::read_stdio(r, "stdout", spec.launch.stdout_target, spec.logs,
                       options_);
    detail::read_stdio(r, "stderr", spec.launch.stderr_target, spec.logs,
                       options_);
    detail::check_shared_rotation(r);
    claim_captures(r, spec);
    if (auto v = r.get_int("notify_fd", 3, 1023))
      spec.launch.notify_fd = static_cast<int>(*v);
    if (auto v = r.get_bool("autostart")) spec.autostart = *v;
    if (options_.semantic_checks) report(r, spec.name, validate(spec), first);
    return spec;
  }

  void read_command(table_reader& r, os::launch_options& launch) {
    const auto* node = r.find("command");
    if (!node) return r.error("command", "missing required key 'command'");
    if (const auto* s = node->as_string()) {
      if (s->get().empty()) return r.error("command", "must not be empty");
      detail::check_exec_string(r, "command", "the command", s->get().size());
      launch.argv = {"/bin/sh", "-c", s->get()};
      return;
    }
    const auto* array = node->as_array();
    if (!array)
      return r.wrong_type("command", *node, "a string or an array of strings");
    if (array->empty()) return r.error("command", "must not be empty");
    for (std::size_t i = 0; i < array->size(); ++i) {
      const auto* arg = array->get(i)->as_string();
      if (!arg)
        return r.error(
            "command",
            "element " + std::to_string(i) + " is " +
                std::string{detail::type_name(array->get(i)->type())} +
                ", not a string");
      detail::check_exec_string(r, "command", "element " + std::to_string(i),
                                arg->get().size());
      launch.argv.push_back(arg->get());
    }
    auto& program = launch.argv.front();
    if (program.find('/') != std::string::npos) program = resolve(program);
  }

  /// Records `name` (a program's or a group's); reports a second use.
  void claim_name(table_reader& r, const std::string& name) {
    if (name.empty()) {
      r.error("name", "must not be empty");
      return;
    }
    // Programs and groups share the name space of every supervisor,
    // the running top's included.
    // The running top's (one problem: not also a duplicate of the file's
    // [supervisor] name, which is the same one).
    if (name == options_.running_top_name && r.path() != "supervisor") {
      r.error("name", "'" + name +
                          "' is the name of the running top supervisor (a "
                          "reload does not rename it): choose another name, "
                          "or restart vitrine");
      return;
    }
    const auto at = r.key_location("name");
    auto [it, fresh] = names_.emplace(name, at);
    if (fresh) return;
    // Groups are read after the top-level programs: the use recorded first
    // can be the later one in the file (a group above a program).
    const auto other = it->second;
    const bool this_one_later =
        std::tie(at.line, at.column) > std::tie(other.line, other.column);
    r.error("name", "duplicate name '" + name +
                        (this_one_later ? "' (first used at line "
                                        : "' (used again at line ") +
                        std::to_string(other.line) + ")");
  }

  /// Records the files `spec` captures into or appends to; reports a
  /// capture file that another program writes too (captures or appends):
  /// each program rotates its own capture by renaming it, which left the
  /// other writing into a rotated or deleted file. One file is one under
  /// any of its names: a path through symbolic links, and a hard link
  /// (its device and inode, where it exists), when the file system may be
  /// looked at (a hard link and an appending program were missed before:
  /// an outside tester).
  void claim_captures(table_reader& r, const process_spec& spec) {
    for (const auto& [key, target] :
         {std::pair{"stdout", &spec.launch.stdout_target},
          std::pair{"stderr", &spec.launch.stderr_target}}) {
      const bool capture = target->mode == os::stdio_target::kind::capture;
      if (!capture && target->mode != os::stdio_target::kind::append_file)
        continue;
      auto path = std::filesystem::path{target->path}.lexically_normal();
      std::string file_id;
      if (options_.semantic_checks) {
        std::error_code unresolved;
        if (auto real = std::filesystem::weakly_canonical(path, unresolved);
            !unresolved)
          path = std::move(real);
        struct stat info {};
        if (::stat(path.c_str(), &info) == 0)
          file_id =
              std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
      }
      const writer here{spec.name, r.key_location(key), capture};
      const writer* other = nullptr;
      for (const auto& name : {path.string(), file_id}) {
        if (name.empty()) continue;
        auto [it, fresh] = writers_.emplace(name, here);
        if (!fresh && it->second.program != spec.name &&
            (capture || it->second.captures))
          other = &it->second;
        else if (!fresh && capture)
          it->second = here;  // the capture is what others must not touch
      }
      if (!other) continue;
      const std::string whose = "program '" + other->program + "'";
      const std::string line = " (line " + std::to_string(other->at.line) + ")";
      r.error(key,
              (capture && other->captures ? "captures into " + path.string() +
                                                " as " + whose + " does" + line
               : capture ? "captures into " + path.string() + ", which " +
                               whose + " appends to" + line
                         : "appends to " + path.string() + ", which " + whose +
                               " captures into" + line) +
                  ": a capture file belongs to one program, which "
                  "rotates it");
    }
  }

  /// Adds validate()'s `problems` about the table `r` reads, except those
  /// about a key already reported since diagnostic number `first` (e.g.
  /// "missing command" makes validate()'s "argv is empty" redundant), or
  /// comparing with one (max_ms with a refused min_ms).
  void report(table_reader& r, const std::string& name,
              const std::vector<spec_problem>& problems, std::size_t first) {
    if (problems.empty()) return;  // the common case: no key map to build
    const key_locations keys = locate_keys(r.table());
    std::set<std::string> reported;
    for (std::size_t i = first; i < out_.size(); ++i)
      reported.insert(out_.problems()[i].key);
    const std::string prefix = spec_field_prefix(name);
    for (const auto& p : problems) {
      std::string_view field = p.field;
      if (!prefix.empty() && field.starts_with(prefix))
        field.remove_prefix(prefix.size());
      const std::string key = detail::key_of_field(field, keys);
      if (reported.contains(key.empty() ? r.path() : r.qualified(key)))
        continue;
      // Compared with the minimum: a refused min_ms left the default there.
      if (key == "backoff.max_ms" &&
          reported.contains(r.qualified("backoff.min_ms")))
        continue;
      // The key itself, else its parent table ("backoff"), else the table.
      location at = r.table_location();
      if (auto it = keys.find(key); it != keys.end()) {
        at = it->second;
      } else if (auto dot = key.find('.'); dot != std::string::npos) {
        if (auto parent = keys.find(key.substr(0, dot)); parent != keys.end())
          at = parent->second;
      }
      out_.add(at, key.empty() ? r.path() : r.qualified(key), p.message);
    }
  }

  std::string resolve(const std::string& path) const {
    return detail::resolve_path(options_.base_dir, path);
  }

  const parse_options& options_;
  problem_sink& out_;
  std::map<std::string, location, std::less<>> names_;
  /// Capture path -> the program capturing into it, and where.
  /// A program writing a file: capturing (it rotates it) or appending.
  struct writer {
    std::string program;
    location at;
    bool captures = false;
  };
  /// By resolved path and by "device:inode", each file a program writes.
  std::map<std::string, writer> writers_;
  std::size_t programs_ = 0;
  std::size_t groups_ = 0;
  std::size_t depth_ = 0;  ///< groups being read, nested
};

}  // namespace

parse_result parse_config(std::string_view text, const std::string& file_name,
                          const parse_options& options) {
  parse_result result;
  problem_sink out{file_name};
  if (auto refused = detail::find_refusal(text); refused) {
    out.add({refused->line, refused->column}, "syntax",
            std::move(refused->message));
    result.problems = out.take();
    return result;
  }
  toml::table root;
  try {
    root = toml::parse(text, std::string_view{file_name});
  } catch (const toml::parse_error& e) {
    out.add(where(e.source()), "syntax", std::string{e.description()});
    result.problems = out.take();
    return result;
  }
  result.value = translator{options, out}.run(root);
  result.problems = out.take();
  result.warnings = out.take_warnings();
  std::stable_sort(result.problems.begin(), result.problems.end(),
                   [](const diagnostic& a, const diagnostic& b) {
                     return std::tie(a.line, a.column) <
                            std::tie(b.line, b.column);
                   });
  if (result.ok() && result.value.program_count == 0)
    result.problems.push_back(
        {file_name, 1, 1, "program", "no [[program]] defined"});
  return result;
}

}  // namespace vitrine::cli
