// Host tests for the RAM file system's tree (servers/tmpfs/portable/tree.h): every
// operation, its POSIX errors, the bounds (names, paths, bytes, nodes), times and a random
// run against a model.

#include <catch2/catch.hpp>

#include <servers/tmpfs/portable/tree.h>

#include <map>
#include <random>
#include <string>
#include <vector>

using namespace tmpfs;

namespace {

base::StringView sv(const std::string& s) { return {s.data(), s.size()}; }

std::string read_all(Tree& t, Node* n) {
    std::string out(n->size, '\0');
    uint64_t count = 0;
    REQUIRE(t.read(n, 0, out.size(), reinterpret_cast<uint8_t*>(out.data()), &count, 0) == 0);
    out.resize(count);
    return out;
}

int write_text(Tree& t, Node* n, uint64_t offset, const std::string& text, bool append = false,
               int64_t now = 0) {
    uint64_t at = 0;
    return t.write(n, offset, reinterpret_cast<const uint8_t*>(text.data()), text.size(), append,
                   &at, now);
}

Node* make_file(Tree& t, const char* path, uint32_t mode = 0644) {
    Node* n = nullptr;
    REQUIRE(t.open(path, kOpenCreate | kOpenExclusive, mode, 0, &n) == 0);
    return n;
}

std::vector<std::string> names(Tree& t, Node* directory) {
    std::vector<std::string> out;
    for (uint64_t i = 0; Node* n = t.entry(directory, i); ++i)
        out.emplace_back(n->name, n->name_length);
    return out;
}

} // namespace

TEST_CASE("tmpfs: the root and lookups") {
    Tree t({}, 5);
    REQUIRE(t.ready());
    Node* n = nullptr;
    REQUIRE(t.lookup("/", &n) == 0);
    CHECK(n == t.root());
    CHECK(n->is_directory());
    CHECK(n->inode == 1);
    CHECK(n->atime_ns == 5);
    CHECK(n->nlink == 2);
    CHECK(t.lookup("//", &n) == 0);
    CHECK(t.lookup("/missing", &n) == -kENOENT);
    CHECK(t.lookup("relative", &n) == -kEINVAL);
    CHECK(t.lookup("", &n) == -kEINVAL);
    CHECK(t.lookup(base::StringView("/a\0b", 4), &n) == -kEINVAL);
}

TEST_CASE("tmpfs: create, write, read, append, truncate") {
    Tree t({}, 0);
    Node* d = nullptr;
    REQUIRE(t.mkdir("/tmp", 01777, 10, &d) == 0);
    CHECK((d->mode & kPermissionMask) == 01777);
    CHECK(t.root()->nlink == 3);
    Node* f = nullptr;
    CHECK(t.open("/tmp/a", 0, 0644, 20, &f) == -kENOENT);
    REQUIRE(t.open("/tmp/a", kOpenCreate, 0644, 20, &f) == 0);
    CHECK(f->is_regular());
    CHECK((f->mode & kPermissionMask) == 0644);
    CHECK(f->size == 0);
    CHECK(d->mtime_ns == 20);
    CHECK(t.open("/tmp/a", kOpenCreate | kOpenExclusive, 0644, 20, &f) == -kEEXIST);
    Node* again = nullptr;
    REQUIRE(t.open("/tmp/a", kOpenCreate, 0600, 20, &again) == 0);
    CHECK(again == f);
    CHECK((f->mode & kPermissionMask) == 0644); // an existing file keeps its mode

    REQUIRE(write_text(t, f, 0, "hello", false, 30) == 0);
    CHECK(f->mtime_ns == 30);
    CHECK(read_all(t, f) == "hello");
    REQUIRE(write_text(t, f, 0, " world", true, 31) == 0);
    CHECK(read_all(t, f) == "hello world");
    // A write past the end leaves zeros in between.
    REQUIRE(write_text(t, f, 13, "!") == 0);
    CHECK(read_all(t, f) == std::string("hello world\0\0!", 14));
    // Reads at and past the end give nothing.
    uint8_t buffer[8];
    uint64_t count = 99;
    CHECK(t.read(f, 14, 8, buffer, &count, 40) == 0);
    CHECK(count == 0);
    CHECK(f->atime_ns == 40);
    CHECK(t.read(f, 1000, 8, buffer, &count, 40) == 0);
    CHECK(count == 0);
    CHECK(t.read(f, 6, 3, buffer, &count, 40) == 0);
    CHECK(std::string(reinterpret_cast<char*>(buffer), count) == "wor");

    REQUIRE(t.truncate(f, 5, 50) == 0);
    CHECK(read_all(t, f) == "hello");
    CHECK(f->mtime_ns == 50);
    REQUIRE(t.truncate(f, 8, 51) == 0);
    CHECK(read_all(t, f) == std::string("hello\0\0\0", 8));
    REQUIRE(t.open("/tmp/a", kOpenTruncate, 0, 52, &f) == 0);
    CHECK(f->size == 0);
    CHECK(t.usage().bytes == 0); // an emptied file gives its memory back

    CHECK(t.read(d, 0, 1, buffer, &count, 0) == -kEISDIR);
    CHECK(write_text(t, d, 0, "x") == -kEISDIR);
    CHECK(t.truncate(d, 0, 0) == -kEISDIR);
    CHECK(t.open("/tmp", kOpenTruncate, 0, 0, &f) == -kEISDIR);
    CHECK(t.open("/tmp/a", kOpenDirectory, 0, 0, &f) == -kENOTDIR);
    CHECK(t.open("/tmp/new", kOpenCreate | kOpenDirectory, 0, 0, &f) == -kEINVAL);
    CHECK(t.open("/tmp/a/b", kOpenCreate, 0644, 0, &f) == -kENOTDIR);
    CHECK(t.open("/nodir/b", kOpenCreate, 0644, 0, &f) == -kENOENT);
}

TEST_CASE("tmpfs: mkdir, rmdir, unlink and their errors") {
    Tree t({}, 0);
    Node* n = nullptr;
    REQUIRE(t.mkdir("/d", 0755, 1, &n) == 0);
    CHECK(t.mkdir("/d", 0755, 1, &n) == -kEEXIST);
    CHECK(t.mkdir("/", 0755, 1, &n) == -kEEXIST);
    CHECK(t.mkdir("/x/y", 0755, 1, &n) == -kENOENT);
    REQUIRE(t.mkdir("/d/e", 0700, 1, &n) == 0);
    CHECK(t.lookup("/d", &n) == 0);
    CHECK(n->nlink == 3);
    CHECK(n->size == 1);
    make_file(t, "/d/f");
    CHECK(t.rmdir("/d", 2) == -kENOTEMPTY);
    CHECK(t.rmdir("/d/f", 2) == -kENOTDIR);
    CHECK(t.rmdir("/d/missing", 2) == -kENOENT);
    CHECK(t.rmdir("/", 2) == -kEBUSY);
    CHECK(t.unlink("/d/e", 2) == -kEISDIR);
    CHECK(t.unlink("/d/missing", 2) == -kENOENT);
    CHECK(t.unlink("/d/f/g", 2) == -kENOTDIR);
    uint64_t nodes = t.usage().nodes;
    REQUIRE(t.unlink("/d/f", 3) == 0);
    CHECK(t.lookup("/d/f", &n) == -kENOENT);
    REQUIRE(t.rmdir("/d/e", 3) == 0);
    CHECK(t.usage().nodes == nodes - 2);
    REQUIRE(t.lookup("/d", &n) == 0);
    CHECK(n->nlink == 2);
    CHECK(n->mtime_ns == 3);
    uint64_t inode = n->inode;
    REQUIRE(t.rmdir("/d", 4) == 0);
    CHECK(t.root()->nlink == 2);
    // A removed node is gone from the inode table too.
    CHECK(t.find(inode) == nullptr);
}

TEST_CASE("tmpfs: names and paths are bounded") {
    Tree t({}, 0);
    Node* n = nullptr;
    std::string longest = "/" + std::string(kMaxName, 'n');
    REQUIRE(t.mkdir(sv(longest), 0755, 0, &n) == 0);
    CHECK(n->name_length == kMaxName);
    CHECK(t.mkdir(sv("/" + std::string(kMaxName + 1, 'n')), 0755, 0, &n) == -kENAMETOOLONG);
    std::string path;
    while (path.size() + 2 <= kMaxPath)
        path += "/a";
    CHECK(t.lookup(sv(path), &n) == -kENOENT);
    CHECK(t.lookup(sv(path + "/a"), &n) == -kENAMETOOLONG);
}

TEST_CASE("tmpfs: symbolic links are kept, not followed") {
    Tree t({}, 0);
    Node* n = nullptr;
    REQUIRE(t.mkdir("/d", 0755, 0, &n) == 0);
    Node* link = nullptr;
    REQUIRE(t.symlink("../target", "/d/l", 7, &link) == 0);
    CHECK(link->is_symlink());
    CHECK(link->size == 9);
    CHECK(std::string(reinterpret_cast<char*>(link->data), link->size) == "../target");
    CHECK(t.symlink("x", "/d/l", 7, &n) == -kEEXIST);
    CHECK(t.symlink("", "/d/m", 7, &n) == -kENOENT);
    // Open answers with the link itself; truncating does nothing to it.
    REQUIRE(t.open("/d/l", kOpenTruncate, 0, 8, &n) == 0);
    CHECK(n == link);
    CHECK(n->size == 9);
    // A link in the middle of a path is not a directory here.
    CHECK(t.lookup("/d/l/x", &n) == -kENOTDIR);
    // lookup_through says where such a link ends, for the client to follow it.
    size_t link_end = 99;
    REQUIRE(t.lookup_through("/d/l/x/y", &n, &link_end) == 0);
    CHECK(n == link);
    CHECK(link_end == 4);
    REQUIRE(t.lookup_through("/d/l", &n, &link_end) == 0);
    CHECK(n == link);
    CHECK(link_end == 0); // the last component: the link itself
    CHECK(t.lookup_through("/d/missing/x", &n, &link_end) == -kENOENT);
    // Other operations meet it as ENOTDIR, and a later lookup is not confused by it.
    CHECK(t.mkdir("/d/l/x", 0755, 0, &n) == -kENOTDIR);
    REQUIRE(t.lookup_through("/d", &n, &link_end) == 0);
    CHECK(link_end == 0);
    uint8_t b[4];
    uint64_t count = 0;
    CHECK(t.read(link, 0, 4, b, &count, 0) == -kEINVAL);
    REQUIRE(t.unlink("/d/l", 9) == 0);
    CHECK(t.usage().bytes == 0);
}

TEST_CASE("tmpfs: rename follows POSIX") {
    Tree t({}, 0);
    Node* n = nullptr;
    REQUIRE(t.mkdir("/a", 0755, 0, &n) == 0);
    REQUIRE(t.mkdir("/b", 0755, 0, &n) == 0);
    Node* f = make_file(t, "/a/f");
    REQUIRE(write_text(t, f, 0, "data") == 0);
    REQUIRE(t.rename("/a/f", "/b/g", 5) == 0);
    CHECK(t.lookup("/a/f", &n) == -kENOENT);
    REQUIRE(t.lookup("/b/g", &n) == 0);
    CHECK(n == f);
    CHECK(n->ctime_ns == 5);
    CHECK(read_all(t, n) == "data");
    // Replacing a file.
    Node* h = make_file(t, "/b/h");
    REQUIRE(write_text(t, h, 0, "old") == 0);
    uint64_t replaced = h->inode;
    REQUIRE(t.rename("/b/g", "/b/h", 6) == 0);
    REQUIRE(t.lookup("/b/h", &n) == 0);
    CHECK(read_all(t, n) == "data");
    CHECK(t.find(replaced) == nullptr);
    CHECK(t.usage().bytes == f->size);
    // Onto itself: nothing happens.
    CHECK(t.rename("/b/h", "/b/h", 7) == 0);
    // Type mismatches, non-empty targets, a directory into itself.
    REQUIRE(t.mkdir("/b/dir", 0755, 0, &n) == 0);
    CHECK(t.rename("/b/h", "/b/dir", 8) == -kEISDIR);
    CHECK(t.rename("/b/dir", "/b/h", 8) == -kENOTDIR);
    CHECK(t.rename("/b", "/b/dir/inside", 8) == -kEINVAL);
    CHECK(t.rename("/missing", "/x", 8) == -kENOENT);
    CHECK(t.rename("/b/h", "/nodir/x", 8) == -kENOENT);
    REQUIRE(t.mkdir("/a/full", 0755, 0, &n) == 0);
    make_file(t, "/a/full/x");
    CHECK(t.rename("/b/dir", "/a/full", 8) == -kENOTEMPTY);
    // A directory moves with its contents and the link counts follow.
    REQUIRE(t.rename("/a/full", "/b/dir", 9) == 0);
    REQUIRE(t.lookup("/b/dir/x", &n) == 0);
    REQUIRE(t.lookup("/a", &n) == 0);
    CHECK(n->nlink == 2);
    REQUIRE(t.lookup("/b", &n) == 0);
    CHECK(n->nlink == 3);
    CHECK(names(t, n) == std::vector<std::string>{"h", "dir"});
}

TEST_CASE("tmpfs: the byte and node limits are ENOSPC") {
    Limits limits;
    limits.max_bytes = 10000;
    limits.max_nodes = 4;
    Tree t(limits, 0);
    Node* f = make_file(t, "/f");
    std::string big(6000, 'x');
    REQUIRE(write_text(t, f, 0, big) == 0);
    CHECK(write_text(t, f, 6000, std::string(5000, 'y')) == -kENOSPC);
    CHECK(f->size == 6000); // nothing of a refused write is kept
    REQUIRE(write_text(t, f, 6000, std::string(4000, 'y')) == 0);
    CHECK(f->size == 10000);
    CHECK(t.usage().bytes <= limits.max_bytes);
    CHECK(t.truncate(f, 10001, 0) == -kENOSPC);
    Node* n = nullptr;
    REQUIRE(t.mkdir("/d", 0755, 0, &n) == 0);
    make_file(t, "/g");
    CHECK(t.usage().nodes == 4);
    CHECK(t.mkdir("/e", 0755, 0, &n) == -kENOSPC);
    CHECK(t.open("/h", kOpenCreate, 0644, 0, &n) == -kENOSPC);
    CHECK(t.symlink("x", "/l", 0, &n) == -kENOSPC);
    REQUIRE(t.unlink("/f", 0) == 0);
    CHECK(t.usage().bytes == 0);
    REQUIRE(t.mkdir("/e", 0755, 0, &n) == 0);
    uint64_t at = 0;
    Node* g = nullptr;
    REQUIRE(t.lookup("/g", &g) == 0);
    CHECK(t.write(g, kMaxFileSize, reinterpret_cast<const uint8_t*>("z"), 1, false, &at, 0)
          == -kEFBIG);
}

TEST_CASE("tmpfs: chmod keeps the type, entries list in creation order") {
    Tree t({}, 0);
    Node* d = nullptr;
    REQUIRE(t.mkdir("/d", 0755, 0, &d) == 0);
    Node* f = make_file(t, "/d/z", 0600);
    REQUIRE(t.chmod(f, 0170751, 3) == 0);
    CHECK(f->mode == (kRegular | 0751));
    CHECK(f->ctime_ns == 3);
    make_file(t, "/d/a");
    Node* n = nullptr;
    REQUIRE(t.mkdir("/d/m", 0755, 0, &n) == 0);
    CHECK(names(t, d) == std::vector<std::string>{"z", "a", "m"});
    CHECK(t.entry(d, 3) == nullptr);
    CHECK(t.entry(f, 0) == nullptr);
    CHECK(t.find(f->inode) == f);
    CHECK(t.find(12345) == nullptr);
}

TEST_CASE("tmpfs: a random run agrees with a model") {
    Tree t({}, 0);
    std::map<std::string, std::string> model; // path -> contents, files in /r only
    Node* n = nullptr;
    REQUIRE(t.mkdir("/r", 0755, 0, &n) == 0);
    std::mt19937 rng(12345);
    for (int step = 0; step < 5000; ++step) {
        std::string path = "/r/f" + std::to_string(rng() % 16);
        switch (rng() % 5) {
        case 0: { // create or open
            Node* f = nullptr;
            REQUIRE(t.open(sv(path), kOpenCreate, 0644, step, &f) == 0);
            model.emplace(path, "");
            break;
        }
        case 1: { // write somewhere
            if (t.lookup(sv(path), &n) != 0) {
                CHECK(model.count(path) == 0);
                break;
            }
            std::string& m = model[path];
            uint64_t offset = rng() % 300;
            std::string text(rng() % 200, char('a' + rng() % 26));
            REQUIRE(write_text(t, n, offset, text, false, step) == 0);
            if (m.size() < offset + text.size())
                m.resize(offset + text.size(), '\0');
            m.replace(offset, text.size(), text);
            break;
        }
        case 2: { // truncate
            if (t.lookup(sv(path), &n) != 0)
                break;
            uint64_t size = rng() % 400;
            REQUIRE(t.truncate(n, size, step) == 0);
            model[path].resize(size, '\0');
            break;
        }
        case 3: { // unlink
            int r = t.unlink(sv(path), step);
            CHECK(r == (model.erase(path) ? 0 : -kENOENT));
            break;
        }
        case 4: { // rename
            std::string to = "/r/f" + std::to_string(rng() % 16);
            int r = t.rename(sv(path), sv(to), step);
            if (!model.count(path)) {
                CHECK(r == -kENOENT);
                break;
            }
            REQUIRE(r == 0);
            if (to != path) {
                model[to] = model[path];
                model.erase(path);
            }
            break;
        }
        }
    }
    uint64_t bytes = 0;
    for (auto& [path, contents] : model) {
        REQUIRE(t.lookup(sv(path), &n) == 0);
        CHECK(read_all(t, n) == contents);
        bytes += n->size;
        CHECK(n->capacity >= n->size);
    }
    REQUIRE(t.lookup("/r", &n) == 0);
    CHECK(n->size == model.size());
    CHECK(t.usage().bytes == bytes);
    CHECK(t.usage().nodes == model.size() + 2);
}

TEST_CASE("tmpfs: set_times sets what it is given and the change time with it") {
    Tree t({}, 0);
    Node* f = make_file(t, "/f", 0644);
    REQUIRE(t.set_times(f, true, -5, false, 999, 7) == 0);
    CHECK(f->atime_ns == -5);
    CHECK(f->mtime_ns == 0);
    CHECK(f->ctime_ns == 7);
    REQUIRE(t.set_times(f, false, 1, true, 1234567890123456789, 8) == 0);
    CHECK(f->atime_ns == -5);
    CHECK(f->mtime_ns == 1234567890123456789);
    CHECK(f->ctime_ns == 8);
    // Neither time given: nothing changes, not even the change time.
    REQUIRE(t.set_times(f, false, 1, false, 2, 9) == 0);
    CHECK(f->atime_ns == -5);
    CHECK(f->ctime_ns == 8);
    Node* d = nullptr;
    REQUIRE(t.mkdir("/d", 0755, 0, &d) == 0);
    REQUIRE(t.set_times(d, true, 11, true, 12, 13) == 0);
    CHECK((d->atime_ns == 11 && d->mtime_ns == 12 && d->ctime_ns == 13));
}

namespace {

// A Backing over the heap that counts what it holds, as the server's memory objects.
class HeapBacking final : public Backing {
public:
    bool make(uint64_t size, uint64_t* memory, uint8_t** data) override {
        if (fail)
            return false;
        CHECK(size % kPageSize == 0);
        auto* bytes = new uint8_t[size]();
        *memory = ++next;
        *data = bytes;
        live[*memory] = size;
        return true;
    }
    void drop(uint64_t memory, uint8_t* data, uint64_t size) override {
        REQUIRE(live.count(memory) == 1);
        CHECK(live[memory] == size);
        live.erase(memory);
        delete[] data;
    }
    std::map<uint64_t, uint64_t> live;
    uint64_t next = 0;
    bool fail = false;
};

} // namespace

TEST_CASE("tmpfs: map moves a file into an object that read and write share") {
    HeapBacking backing;
    {
        Tree t({}, 0, &backing);
        Node* f = make_file(t, "/f");
        REQUIRE(write_text(t, f, 0, "hello") == 0);
        uint64_t memory = 0, size = 0;
        REQUIRE(t.map(f, 100, &memory, &size) == 0);
        CHECK(size == kPageSize);
        CHECK(backing.live.size() == 1);
        CHECK(f->memory == memory);
        // The object's bytes are the file's: a store through a mapping is read back.
        CHECK(std::string(reinterpret_cast<char*>(f->data), 5) == "hello");
        f->data[0] = 'J';
        CHECK(read_all(t, f) == "Jello");
        REQUIRE(write_text(t, f, 1, "ELLO") == 0);
        CHECK(std::string(reinterpret_cast<char*>(f->data), 5) == "JELLO");
        // The same object while the file fits; the size stays the file's.
        uint64_t again = 0;
        REQUIRE(t.map(f, 4096, &again, &size) == 0);
        CHECK(again == memory);
        CHECK(f->size == 5);
        // Shrinking keeps the object; growing again zeroes what a mapping left past the end.
        REQUIRE(t.truncate(f, 0, 0) == 0);
        CHECK(f->memory == memory);
        f->data[2] = 'x';
        REQUIRE(t.truncate(f, 4, 0) == 0);
        CHECK(read_all(t, f) == std::string(4, '\0'));
        // A mapping past the object, or a write past it, moves the file to a bigger one.
        REQUIRE(write_text(t, f, 0, "abcd") == 0);
        REQUIRE(t.map(f, 3 * kPageSize, &again, &size) == 0);
        CHECK(again != memory);
        CHECK(size == 3 * kPageSize);
        CHECK(backing.live.size() == 1);
        CHECK(read_all(t, f) == "abcd");
        REQUIRE(write_text(t, f, 5 * kPageSize, "z") == 0);
        CHECK(f->capacity % kPageSize == 0);
        CHECK(f->capacity >= 5 * kPageSize + 1);
        CHECK(backing.live.size() == 1);
        std::string all = read_all(t, f);
        CHECK(all.size() == 5 * kPageSize + 1);
        CHECK(all.substr(0, 4) == "abcd");
        CHECK(all.back() == 'z');
        // An empty file maps one page.
        Node* e = make_file(t, "/e");
        REQUIRE(t.map(e, 0, &memory, &size) == 0);
        CHECK(size == kPageSize);
        CHECK(backing.live.size() == 2);
        // Errors.
        Node* d = nullptr;
        REQUIRE(t.mkdir("/d", 0755, 0, &d) == 0);
        CHECK(t.map(d, 1, &memory, &size) == -kEISDIR);
        Node* l = nullptr;
        REQUIRE(t.symlink("/f", "/l", 0, &l) == 0);
        CHECK(t.map(l, 1, &memory, &size) == -kEINVAL);
        CHECK(t.map(f, kMaxFileSize + 1, &memory, &size) == -kEINVAL);
        backing.fail = true;
        Node* g = make_file(t, "/g");
        CHECK(t.map(g, 1, &memory, &size) == -kENOMEM);
        CHECK(write_text(t, f, 9 * kPageSize, "y") == -kENOSPC);
        CHECK(read_all(t, f).back() == 'z'); // nothing lost
        backing.fail = false;
        // Unlinking a mapped file drops its object.
        REQUIRE(t.unlink("/e", 0) == 0);
        CHECK(backing.live.size() == 1);
    }
    // The tree's end drops the rest.
    CHECK(backing.live.empty());
    Tree plain({}, 0);
    Node* f = make_file(plain, "/f");
    uint64_t memory = 0, size = 0;
    CHECK(plain.map(f, 1, &memory, &size) == -kENODEV);
    // A mapping past the end of a file is bounded by what the byte limit has left.
    Limits small;
    small.max_bytes = 3 * kPageSize;
    Tree bounded(small, 0, &backing);
    Node* b = make_file(bounded, "/b");
    REQUIRE(write_text(bounded, b, 0, std::string(kPageSize, 'b')) == 0);
    CHECK(bounded.map(b, 3 * kPageSize, &memory, &size) == 0);
    CHECK(bounded.map(b, 3 * kPageSize + 1, &memory, &size) == -kENOMEM);
}

TEST_CASE("tmpfs: hard links share a file until its last name goes") {
    HeapBacking backing;
    Tree t({}, 0, &backing);
    Node* d = nullptr;
    REQUIRE(t.mkdir("/d", 0755, 0, &d) == 0);
    Node* f = make_file(t, "/tmp-1");
    REQUIRE(write_text(t, f, 0, "sem") == 0);
    uint64_t memory = 0, size = 0;
    REQUIRE(t.map(f, 16, &memory, &size) == 0);
    Node* linked = nullptr;
    REQUIRE(t.link("/tmp-1", "/d/name", 7, &linked) == 0);
    CHECK(linked == f);
    CHECK(f->nlink == 2);
    CHECK(f->ctime_ns == 7);
    Node* n = nullptr;
    REQUIRE(t.lookup("/d/name", &n) == 0);
    CHECK(n == f);
    REQUIRE(t.open("/d/name", 0, 0, 0, &n) == 0);
    CHECK(n == f);
    CHECK(names(t, d) == std::vector<std::string>{"name"});
    CHECK(t.usage().nodes == 4);
    // Errors: an existing name, a directory, a missing file.
    CHECK(t.link("/tmp-1", "/d/name", 0, &n) == -kEEXIST);
    CHECK(t.link("/d", "/d2", 0, &n) == -kEPERM);
    CHECK(t.link("/missing", "/x", 0, &n) == -kENOENT);
    CHECK(t.link("/tmp-1", "/missing/x", 0, &n) == -kENOENT);
    // The first name goes (what sem_open does): the file lives on under the other, with
    // its inode, bytes and object.
    REQUIRE(t.unlink("/tmp-1", 0) == 0);
    CHECK(t.lookup("/tmp-1", &n) == -kENOENT);
    REQUIRE(t.lookup("/d/name", &n) == 0);
    CHECK(n == f);
    CHECK(f->nlink == 1);
    CHECK(f->parent == d);
    CHECK(f->leaf() == base::StringView("name"));
    CHECK(t.find(f->inode) == f);
    CHECK(read_all(t, f) == "sem");
    CHECK(f->memory == memory);
    CHECK(t.usage().nodes == 3);
    CHECK(t.usage().bytes == 3);
    // A link's own name going leaves the file.
    REQUIRE(t.link("/d/name", "/other", 0, &n) == 0);
    REQUIRE(t.unlink("/other", 0) == 0);
    CHECK(f->nlink == 1);
    CHECK(t.lookup("/d/name", &n) == 0);
    // rename between two names of one file does nothing; over another file it replaces.
    REQUIRE(t.link("/d/name", "/again", 0, &n) == 0);
    CHECK(t.rename("/again", "/d/name", 0) == 0);
    CHECK(f->nlink == 2);
    Node* g = make_file(t, "/g");
    REQUIRE(t.rename("/g", "/again", 0) == 0);
    CHECK(f->nlink == 1);
    REQUIRE(t.lookup("/again", &n) == 0);
    CHECK(n == g);
    // The last name takes the file and its object.
    uint64_t inode = f->inode;
    REQUIRE(t.unlink("/d/name", 0) == 0);
    CHECK(t.find(inode) == nullptr);
    CHECK(backing.live.empty());
    CHECK(t.usage().bytes == 0);
}
