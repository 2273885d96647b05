#pragma once

// terminal::Termios: the console's terminal settings, as POSIX's termios names them, and the
// rules the console server applies with them: what an input byte becomes (c_iflag), whether
// it makes a signal (ISIG and the control characters), which key of the line editor it is
// in canonical mode, what an output byte becomes (c_oflag), and when a read in raw mode is
// answered (VMIN and VTIME). The values are Linux's, so the settings travel unchanged
// through musl's tcgetattr and tcsetattr (the TCGETS and TCSETS ioctls).
//
// Pure logic, no hardware and no allocation: host tests drive it directly.

#include <stddef.h>
#include <stdint.h>

namespace terminal {

// c_iflag.
inline constexpr uint32_t kIgnbrk = 0000001, kBrkint = 0000002, kIgnpar = 0000004,
                          kIstrip = 0000040, kInlcr = 0000100, kIgncr = 0000200, kIcrnl = 0000400,
                          kIxon = 0002000, kIxoff = 0010000, kImaxbel = 0020000, kIutf8 = 0040000;
// c_oflag.
inline constexpr uint32_t kOpost = 0000001, kOnlcr = 0000004;
// c_cflag: B38400, CS8, CREAD and HUPCL, kept and reported, with no meaning on the console.
inline constexpr uint32_t kDefaultCflag = 0000017 | 0000060 | 0000200 | 0002000;
// c_lflag.
inline constexpr uint32_t kIsig = 0000001, kIcanon = 0000002, kEcho = 0000010, kEchoe = 0000020,
                          kEchok = 0000040, kEchonl = 0000100, kNoflsh = 0000200, kTostop = 0000400,
                          kEchoctl = 0001000, kEchoke = 0004000, kIexten = 0100000;

// c_cc indices.
enum ControlChar : uint8_t {
    kVintr = 0,
    kVquit = 1,
    kVerase = 2,
    kVkill = 3,
    kVeof = 4,
    kVtime = 5,
    kVmin = 6,
    kVswtc = 7,
    kVstart = 8,
    kVstop = 9,
    kVsusp = 10,
    kVeol = 11,
    kVreprint = 12,
    kVdiscard = 13,
    kVwerase = 14,
    kVlnext = 15,
    kVeol2 = 16,
};
inline constexpr size_t kControlCharCount = 19;
// A control character set to this is disabled (_POSIX_VDISABLE).
inline constexpr uint8_t kDisabled = 0;

// Linux's struct termios as the kernel's TCGETS fills it.
struct Termios {
    uint32_t iflag, oflag, cflag, lflag;
    uint8_t line;
    uint8_t cc[kControlCharCount];

    [[nodiscard]] bool canonical() const { return (lflag & kIcanon) != 0; }
    [[nodiscard]] bool echo() const { return (lflag & kEcho) != 0; }
};
static_assert(sizeof(Termios) == 36);

// What a new terminal has on Linux: ICRNL IXON; OPOST ONLCR; ISIG ICANON ECHO ECHOE ECHOK
// ECHOCTL ECHOKE IEXTEN; ^C ^\ DEL ^U ^D, TIME 0, MIN 1, ^Q ^S ^Z, ^R ^O ^W ^V.
Termios default_termios();

// c_iflag's input processing: ISTRIP, then IGNCR, ICRNL and INLCR. False when the byte is
// dropped (a CR with IGNCR).
bool translate_input(const Termios& t, uint8_t& byte);

enum class InputSignal : uint8_t {
    kNone,
    kInterrupt,
    kQuit,
    kSuspend
};

// With ISIG, the signal byte makes (VINTR, VQUIT, VSUSP; a disabled one never matches).
InputSignal signal_for(const Termios& t, uint8_t byte);

// The byte the line editor (line_editor.h) should see for byte in canonical mode, or -1
// when it should see nothing: the editor's keys are fixed (DEL erases, ^U kills, ^W erases
// a word, ^D ends input, ^C ^\ ^Z interrupt), so VERASE, VKILL, VWERASE (with IEXTEN) and
// VEOF become those keys, and a key byte that is not its character's any more (^D when
// VEOF is something else, ^C without ISIG) is taken as nothing.
int editor_key(const Termios& t, uint8_t byte);

// c_oflag's output processing of one byte: with OPOST and ONLCR, "\n" is "\r\n". Writes the
// bytes to out (room for two) and returns how many.
size_t translate_output(const Termios& t, uint8_t byte, uint8_t out[2]);

// How a raw-mode byte is echoed with ECHO: as it is, except control characters (other than
// tab and newline) as ^X with ECHOCTL. Writes to out (room for three: "\r\n" after ONLCR, or
// "^X") and returns how many.
size_t echo_raw(const Termios& t, uint8_t byte, uint8_t out[3]);

// When a read in raw mode (no ICANON) is answered, by POSIX's rule on VMIN and VTIME (in
// tenths of a second), for a reader who wants `wanted` bytes (at least 1) while `available`
// wait in the queue, at time `now`; the read began at `started` and the last byte arrived
// at `last_input` (nanoseconds on one clock, 0 for never):
//   MIN > 0, TIME = 0: when min(MIN, wanted) bytes are there;
//   MIN = 0, TIME > 0: when a byte is there, or with none TIME after the read began;
//   MIN > 0, TIME > 0: when min(MIN, wanted) bytes are there, or, once a byte is there,
//                      TIME after the later of the read's start and the last byte;
//   MIN = 0, TIME = 0: at once, with what is there (perhaps nothing).
// answer says whether to answer now, with count bytes; otherwise wake_at is when to look
// again (0: only when input comes).
struct RawReadRule {
    bool answer;
    size_t count;
    uint64_t wake_at;
};
RawReadRule raw_read_rule(const Termios& t, size_t available, size_t wanted, uint64_t now,
                          uint64_t started, uint64_t last_input);

// The bytes typed in raw mode, waiting for readers: a ring of fixed size. A byte that finds
// it full is dropped and counted.
class ByteQueue {
public:
    static constexpr size_t kCapacity = 4096;

    bool push(uint8_t byte);
    [[nodiscard]] size_t size() const { return m_size; }
    [[nodiscard]] bool empty() const { return m_size == 0; }
    // Copies the first count (at most size()) bytes to out without taking them.
    void peek(uint8_t* out, size_t count) const;
    // Drops the first count bytes.
    void drop(size_t count);
    void clear() { m_head = m_size = 0; }
    [[nodiscard]] uint64_t dropped() const { return m_dropped; }

private:
    uint8_t m_bytes[kCapacity] = {};
    size_t m_head = 0;
    size_t m_size = 0;
    uint64_t m_dropped = 0;
};

} // namespace terminal
