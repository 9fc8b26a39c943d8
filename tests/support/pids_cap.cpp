#include "support/pids_cap.hpp"

#include <unistd.h>

#include <fstream>
#include <system_error>

namespace vitrine::test {
namespace {

const std::filesystem::path hierarchy = "/sys/fs/cgroup/pids";

}  // namespace

bool pids_cap::available() {
  return ::access((hierarchy / "cgroup.procs").c_str(), W_OK) == 0;
}

pids_cap::pids_cap()
    : dir_(hierarchy / ("vitrine-test-" + std::to_string(::getpid()))) {
  std::error_code ec;
  made_ = std::filesystem::create_directory(dir_, ec);
}

pids_cap::~pids_cap() {
  std::ifstream procs(dir_ / "cgroup.procs");
  for (pid_t pid; procs >> pid;)
    std::ofstream{hierarchy / "cgroup.procs"} << pid;
  std::error_code ec;
  std::filesystem::remove(dir_, ec);
}

bool pids_cap::add(pid_t pid) const {
  return write("cgroup.procs", std::to_string(pid));
}

bool pids_cap::write(const char* file, const std::string& value) const {
  std::ofstream out(dir_ / file);
  out << value;
  out.flush();
  return static_cast<bool>(out);
}

std::string pids_cap::read(const char* file) const {
  std::ifstream in(dir_ / file);
  std::string value;
  in >> value;
  return value;
}

}  // namespace vitrine::test
