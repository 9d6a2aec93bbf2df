// The read sandbox (util/sandboxed_open.h): a file opens only when it lies under an allowed
// directory, whatever links are on the way and however they change while it is opened.
// Every case runs twice: with the kernel's openat2 where it has it, and with the walk that
// resolves links one component at a time.
#include "util/sandboxed_open.h"
#include "support.h"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

using namespace twin;
using twin::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string read_opened(const SandboxedFile& file) { return read_all(file.fd.get()); }

using Status = SandboxedFile::Status;

}  // namespace

TEST_CASE("a sandbox opens files under its directories and nothing else") {
  for (bool kernel : {true, false}) {
    CAPTURE(kernel);
    TempDir allowed, outside;
    allowed.write("a.txt", "inside\n");
    allowed.write("sub/b.txt", "deeper\n");
    auto secret = outside.write("secret.txt", "SECRET\n");
    ReadSandbox sandbox(kernel);
    sandbox.allow(allowed.path);

    SandboxedFile a = sandbox.open(allowed.path / "a.txt");
    REQUIRE(a.status == Status::Opened);
    CHECK(read_opened(a) == "inside\n");
    CHECK(a.resolved == fs::canonical(allowed.path / "a.txt"));
    CHECK(read_opened(sandbox.open(allowed.path / "sub" / ".." / "sub" / "b.txt")) == "deeper\n");

    CHECK(sandbox.open(secret).status == Status::Denied);
    CHECK(sandbox.open(allowed.path / ".." / outside.path.filename() / "secret.txt").status == Status::Denied);
    CHECK(sandbox.open(allowed.path / "none.txt").status == Status::Missing);
    CHECK(sandbox.open(allowed.path / "sub").status == Status::NotRegular);
    CHECK(sandbox.covers(allowed.path / "anything"));
    CHECK_FALSE(sandbox.covers(secret));
  }
}

TEST_CASE("a denied path answers the same whether or not it exists") {
  for (bool kernel : {true, false}) {
    TempDir allowed, outside;
    auto secret = outside.write("secret.txt", "SECRET\n");
    ReadSandbox sandbox(kernel);
    sandbox.allow(allowed.path);
    SandboxedFile existing = sandbox.open(secret);
    SandboxedFile missing = sandbox.open(outside.path / "no-such-file.txt");
    CHECK(existing.status == Status::Denied);
    CHECK(missing.status == Status::Denied);
    CHECK(existing.why == missing.why);
    // The same through a link inside the sandbox: the link's text is judged, not its target.
    fs::create_symlink(secret, allowed.path / "to-secret");
    fs::create_symlink(outside.path / "no-such-file.txt", allowed.path / "to-nothing");
    SandboxedFile through_existing = sandbox.open(allowed.path / "to-secret");
    SandboxedFile through_missing = sandbox.open(allowed.path / "to-nothing");
    CHECK(through_existing.status == Status::Denied);
    CHECK(through_missing.status == Status::Denied);
    CHECK(through_existing.why == through_missing.why);
  }
}

TEST_CASE("symbolic links are followed while they stay inside the allowed directories") {
  for (bool kernel : {true, false}) {
    CAPTURE(kernel);
    TempDir allowed, library, outside;
    allowed.write("real/data.txt", "data\n");
    library.write("std.rules", "version 1\n");
    outside.write("secret.txt", "SECRET\n");
    fs::create_symlink("real/data.txt", allowed.path / "relative");
    fs::create_symlink(allowed.path / "real", allowed.path / "absolute-dir");
    fs::create_symlink(library.path / "std.rules", allowed.path / "into-library");
    fs::create_symlink("../" + outside.path.filename().string() + "/secret.txt", allowed.path / "up-and-out");
    fs::create_symlink("../" + allowed.path.filename().string() + "/real/data.txt", allowed.path / "up-and-back");
    fs::create_symlink(outside.path, allowed.path / "outside-dir");
    fs::create_symlink("loop", allowed.path / "loop");
    ReadSandbox sandbox(kernel);
    sandbox.allow(allowed.path);
    sandbox.allow(library.path);

    CHECK(read_opened(sandbox.open(allowed.path / "relative")) == "data\n");
    CHECK(read_opened(sandbox.open(allowed.path / "absolute-dir" / "data.txt")) == "data\n");
    SandboxedFile std_rules = sandbox.open(allowed.path / "into-library");
    REQUIRE(std_rules.status == Status::Opened);
    CHECK(std_rules.resolved == fs::canonical(library.path / "std.rules"));
    CHECK(read_opened(sandbox.open(allowed.path / "up-and-back")) == "data\n");
    CHECK(sandbox.open(allowed.path / "up-and-out").status == Status::Denied);
    CHECK(sandbox.open(allowed.path / "outside-dir" / "secret.txt").status == Status::Denied);
    SandboxedFile loop = sandbox.open(allowed.path / "loop");
    CHECK(loop.status == Status::Failed);
    CHECK(loop.error == ELOOP);
  }
}

TEST_CASE("a path with a NUL byte is refused before anything is opened") {
  TempDir allowed;
  allowed.write("ok", "fine\n");
  ReadSandbox sandbox;
  sandbox.allow(allowed.path);
  std::string path = (allowed.path / "ok").string() + std::string(1, '\0') + "../../etc/passwd";
  SandboxedFile f = sandbox.open(fs::path(path));
  CHECK(f.status == Status::InvalidName);
  CHECK(printable_path(path).find("\\0") != std::string::npos);
}

TEST_CASE("a FIFO or a device is not opened and does not block") {
  for (bool kernel : {true, false}) {
    TempDir allowed;
    REQUIRE(::mkfifo((allowed.path / "pipe").c_str(), 0600) == 0);
    fs::create_symlink("/dev/zero", allowed.path / "zero");
    ReadSandbox sandbox(kernel);
    sandbox.allow(allowed.path);
    sandbox.allow("/dev");
    CHECK(sandbox.open(allowed.path / "pipe").status == Status::NotRegular);
    CHECK(sandbox.open(allowed.path / "zero").status == Status::NotRegular);
  }
}

// A racing process re-points links as fast as it can, between a file inside and one outside,
// on the file itself and on a directory on the path. However the race falls, nothing outside
// is ever read.
TEST_CASE("a symbolic link swapped while the sandbox opens it never reads outside") {
  for (bool kernel : {true, false}) {
    CAPTURE(kernel);
    TempDir allowed, outside;
    allowed.write("ok.txt", "fine\n");
    allowed.write("dir/ok.txt", "fine\n");
    auto secret = outside.write("secret.txt", "SECRET\n");
    outside.write("ok.txt", "SECRET\n");
    fs::create_symlink("ok.txt", allowed.path / "file-link");
    fs::create_symlink("dir", allowed.path / "dir-link");
    ReadSandbox sandbox(kernel);
    sandbox.allow(allowed.path);

    std::atomic<bool> stop{false};
    std::thread racer([&] {
      fs::path file_temp = allowed.path / "file-link.new", dir_temp = allowed.path / "dir-link.new";
      for (int i = 0; !stop.load(); ++i) {
        bool out = i % 2 == 0;
        std::error_code ec;
        fs::remove(file_temp, ec);
        fs::create_symlink(out ? secret : fs::path("ok.txt"), file_temp, ec);
        fs::rename(file_temp, allowed.path / "file-link", ec);
        fs::remove(dir_temp, ec);
        fs::create_symlink(out ? outside.path : fs::path("dir"), dir_temp, ec);
        fs::rename(dir_temp, allowed.path / "dir-link", ec);
      }
    });
    int leaks = 0, reads = 0;
    for (int i = 0; i < 3000; ++i) {
      for (const fs::path& p : {allowed.path / "file-link", allowed.path / "dir-link" / "ok.txt"}) {
        SandboxedFile f = sandbox.open(p);
        if (f.status != Status::Opened) continue;
        ++reads;
        if (read_opened(f).find("SECRET") != std::string::npos) ++leaks;
      }
    }
    stop = true;
    racer.join();
    CHECK(leaks == 0);
    CHECK(reads > 0);
  }
}
