// Host tests for the console's terminal settings (servers/console/portable/termios.h): the
// values are the host Linux's own, the defaults are a new Linux terminal's, and the input,
// output, signal, editor-key and VMIN/VTIME rules.

#include <catch2/catch.hpp>

#include <servers/console/portable/termios.h>

#include <cstddef>
#include <cstring>
#include <termios.h>

using namespace terminal;

namespace {

constexpr uint64_t kTenth = 100'000'000ull;

Termios raw(uint8_t min, uint8_t time) {
    Termios t = default_termios();
    t.lflag &= ~(kIcanon | kEcho);
    t.cc[kVmin] = min;
    t.cc[kVtime] = time;
    return t;
}

} // namespace

TEST_CASE("termios values are Linux's") {
    CHECK(kIstrip == ISTRIP);
    CHECK(kInlcr == INLCR);
    CHECK(kIgncr == IGNCR);
    CHECK(kIcrnl == ICRNL);
    CHECK(kIxon == IXON);
    CHECK(kOpost == OPOST);
    CHECK(kOnlcr == ONLCR);
    CHECK(kIsig == ISIG);
    CHECK(kIcanon == ICANON);
    CHECK(kEcho == ECHO);
    CHECK(kEchoe == ECHOE);
    CHECK(kEchok == ECHOK);
    CHECK(kEchonl == ECHONL);
    CHECK(kNoflsh == NOFLSH);
    CHECK(kTostop == TOSTOP);
    CHECK(kEchoctl == ECHOCTL);
    CHECK(kEchoke == ECHOKE);
    CHECK(kIexten == IEXTEN);
    CHECK(kVintr == VINTR);
    CHECK(kVquit == VQUIT);
    CHECK(kVerase == VERASE);
    CHECK(kVkill == VKILL);
    CHECK(kVeof == VEOF);
    CHECK(kVtime == VTIME);
    CHECK(kVmin == VMIN);
    CHECK(kVsusp == VSUSP);
    CHECK(kVeol == VEOL);
    CHECK(kVreprint == VREPRINT);
    CHECK(kVwerase == VWERASE);
    CHECK(kVlnext == VLNEXT);
    CHECK(kDefaultCflag == (B38400 | CS8 | CREAD | HUPCL));
    // The kernel's struct is the start of the C library's.
    CHECK(offsetof(struct termios, c_cc) == offsetof(Termios, cc));
    CHECK(offsetof(struct termios, c_line) == offsetof(Termios, line));
}

TEST_CASE("the defaults are a new Linux terminal's") {
    Termios t = default_termios();
    CHECK(t.iflag == (ICRNL | IXON));
    CHECK(t.oflag == (OPOST | ONLCR));
    CHECK(t.lflag == (ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN));
    CHECK(t.canonical());
    CHECK(t.echo());
    const uint8_t linux_cc[] = {3,   034, 0177, 025, 4,   0,   1,   0, 021,
                                023, 032, 0,    022, 017, 027, 026, 0};
    CHECK(std::memcmp(t.cc, linux_cc, sizeof(linux_cc)) == 0);
}

TEST_CASE("input processing: ICRNL, INLCR, IGNCR, ISTRIP") {
    Termios t = default_termios();
    uint8_t b = '\r';
    CHECK(translate_input(t, b));
    CHECK(b == '\n');
    b = '\n';
    CHECK(translate_input(t, b));
    CHECK(b == '\n');
    t.iflag = kInlcr;
    b = '\n';
    CHECK(translate_input(t, b));
    CHECK(b == '\r');
    b = '\r';
    CHECK(translate_input(t, b));
    CHECK(b == '\r');
    t.iflag = kIgncr | kIcrnl;
    b = '\r';
    CHECK_FALSE(translate_input(t, b));
    t.iflag = kIstrip;
    b = 0xC1;
    CHECK(translate_input(t, b));
    CHECK(b == 0x41);
    t.iflag = 0;
    b = 0xC1;
    CHECK(translate_input(t, b));
    CHECK(b == 0xC1);
}

TEST_CASE("ISIG decides whether the control characters make signals") {
    Termios t = default_termios();
    CHECK(signal_for(t, 3) == InputSignal::kInterrupt);
    CHECK(signal_for(t, 034) == InputSignal::kQuit);
    CHECK(signal_for(t, 032) == InputSignal::kSuspend);
    CHECK(signal_for(t, 'a') == InputSignal::kNone);
    t.cc[kVintr] = 'q';
    CHECK(signal_for(t, 'q') == InputSignal::kInterrupt);
    CHECK(signal_for(t, 3) == InputSignal::kNone);
    // A disabled character never matches, not even NUL.
    t.cc[kVquit] = kDisabled;
    CHECK(signal_for(t, 0) == InputSignal::kNone);
    t = default_termios();
    t.lflag &= ~kIsig;
    CHECK(signal_for(t, 3) == InputSignal::kNone);
    CHECK(signal_for(t, 032) == InputSignal::kNone);
}

TEST_CASE("the editor's keys follow VERASE, VKILL, VEOF, VWERASE and ISIG") {
    Termios t = default_termios();
    CHECK(editor_key(t, 0x7F) == 0x7F);
    CHECK(editor_key(t, 0x15) == 0x15);
    CHECK(editor_key(t, 0x04) == 0x04);
    CHECK(editor_key(t, 0x17) == 0x17);
    CHECK(editor_key(t, 0x03) == 0x03);
    CHECK(editor_key(t, 'x') == 'x');
    t.cc[kVerase] = 0x08;
    t.cc[kVkill] = 'K';
    t.cc[kVeof] = 'E';
    CHECK(editor_key(t, 0x08) == 0x7F);
    CHECK(editor_key(t, 'K') == 0x15);
    CHECK(editor_key(t, 'E') == 0x04);
    CHECK(editor_key(t, 0x04) == -1);
    CHECK(editor_key(t, 0x15) == -1);
    t.lflag &= ~(kIsig | kIexten);
    CHECK(editor_key(t, 0x03) == -1);
    CHECK(editor_key(t, 0x1A) == -1);
    CHECK(editor_key(t, 0x17) == -1);
}

TEST_CASE("output processing: ONLCR only with OPOST") {
    Termios t = default_termios();
    uint8_t out[3];
    REQUIRE(translate_output(t, '\n', out) == 2);
    CHECK((out[0] == '\r' && out[1] == '\n'));
    REQUIRE(translate_output(t, 'a', out) == 1);
    CHECK(out[0] == 'a');
    t.oflag = kOnlcr;
    REQUIRE(translate_output(t, '\n', out) == 1);
    CHECK(out[0] == '\n');
    t.oflag = kOpost;
    REQUIRE(translate_output(t, '\n', out) == 1);
    t = default_termios();
    REQUIRE(echo_raw(t, 0x01, out) == 2);
    CHECK((out[0] == '^' && out[1] == 'A'));
    REQUIRE(echo_raw(t, 0x7F, out) == 2);
    CHECK((out[0] == '^' && out[1] == '?'));
    REQUIRE(echo_raw(t, '\n', out) == 2);
    REQUIRE(echo_raw(t, '\t', out) == 1);
    t.lflag &= ~kEchoctl;
    REQUIRE(echo_raw(t, 0x01, out) == 1);
    CHECK(out[0] == 0x01);
}

TEST_CASE("VMIN > 0, VTIME = 0: a read waits for MIN bytes") {
    Termios t = raw(3, 0);
    CHECK_FALSE(raw_read_rule(t, 0, 100, 10, 0, 0).answer);
    RawReadRule r = raw_read_rule(t, 2, 100, 10, 0, 5);
    CHECK_FALSE(r.answer);
    CHECK(r.wake_at == 0);
    r = raw_read_rule(t, 5, 100, 10, 0, 5);
    CHECK(r.answer);
    CHECK(r.count == 5);
    // A reader who wants fewer than MIN is answered with what it wants.
    r = raw_read_rule(t, 1, 1, 10, 0, 5);
    CHECK(r.answer);
    CHECK(r.count == 1);
    r = raw_read_rule(t, 5, 2, 10, 0, 5);
    CHECK(r.count == 2);
}

TEST_CASE("VMIN = 0, VTIME > 0: a byte, or nothing once TIME has passed") {
    Termios t = raw(0, 5);
    RawReadRule r = raw_read_rule(t, 0, 10, 1000, 1000, 0);
    CHECK_FALSE(r.answer);
    CHECK(r.wake_at == 1000 + 5 * kTenth);
    r = raw_read_rule(t, 0, 10, 1000 + 5 * kTenth, 1000, 0);
    CHECK(r.answer);
    CHECK(r.count == 0);
    r = raw_read_rule(t, 2, 10, 1001, 1000, 0);
    CHECK(r.answer);
    CHECK(r.count == 2);
}

TEST_CASE("VMIN > 0, VTIME > 0: MIN bytes, or the inter-byte timer") {
    Termios t = raw(4, 2);
    // No byte yet: no timer.
    RawReadRule r = raw_read_rule(t, 0, 10, 5 * kTenth, 0, 0);
    CHECK_FALSE(r.answer);
    CHECK(r.wake_at == 0);
    // One byte at 1 s: the timer runs from it.
    r = raw_read_rule(t, 1, 10, 10 * kTenth, 0, 10 * kTenth);
    CHECK_FALSE(r.answer);
    CHECK(r.wake_at == 12 * kTenth);
    r = raw_read_rule(t, 1, 10, 12 * kTenth, 0, 10 * kTenth);
    CHECK(r.answer);
    CHECK(r.count == 1);
    // Bytes that came before the read began: the timer runs from the read's start.
    r = raw_read_rule(t, 2, 10, 20 * kTenth, 20 * kTenth, 3 * kTenth);
    CHECK_FALSE(r.answer);
    CHECK(r.wake_at == 22 * kTenth);
    r = raw_read_rule(t, 4, 10, 20 * kTenth, 20 * kTenth, 3 * kTenth);
    CHECK(r.answer);
    CHECK(r.count == 4);
}

TEST_CASE("VMIN = 0, VTIME = 0: at once") {
    Termios t = raw(0, 0);
    RawReadRule r = raw_read_rule(t, 0, 10, 5, 5, 0);
    CHECK(r.answer);
    CHECK(r.count == 0);
    r = raw_read_rule(t, 20, 10, 5, 5, 0);
    CHECK(r.answer);
    CHECK(r.count == 10);
}

TEST_CASE("the raw byte queue keeps order, wraps, and drops when full") {
    ByteQueue q;
    CHECK(q.empty());
    for (int round = 0; round < 3; ++round) {
        for (size_t i = 0; i < ByteQueue::kCapacity - 10; ++i)
            REQUIRE(q.push(uint8_t(i)));
        uint8_t out[16];
        q.peek(out, 16);
        for (size_t i = 0; i < 16; ++i)
            CHECK(out[i] == uint8_t(i));
        q.drop(ByteQueue::kCapacity - 20);
        CHECK(q.size() == 10);
        q.peek(out, 10);
        CHECK(out[0] == uint8_t(ByteQueue::kCapacity - 20));
        q.drop(10);
        CHECK(q.empty());
    }
    for (size_t i = 0; i < ByteQueue::kCapacity; ++i)
        REQUIRE(q.push(1));
    CHECK_FALSE(q.push(2));
    CHECK(q.dropped() == 1);
    q.clear();
    CHECK(q.empty());
}
